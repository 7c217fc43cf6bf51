//! Duplicate candidates: the keys two leads of one person are likely to share.
//!
//! Each [`Rule`] reduces a contact to a normalised key; two live leads with the same key are a
//! candidate pair for that rule, scored by [`score`]. The keys are computed here, by the
//! projector when a lead's contact may have changed (`lead_match_keys`), so SQL only compares
//! them; an erased contact has no keys.
//!
//! The keys are personal data (an e-mail address, a phone number, a name): they live in
//! PostgreSQL only, never in the log, and go with the contact (docs/PRIVACY.md).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::company::employer_domain;
use crate::privacy::email_domain;

/// A duplicate rule: what two leads share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The same e-mail address, normalised by [`email_key`].
    Email,
    /// The same phone number, normalised by [`phone_key`].
    Phone,
    /// The same name ([`name_key`]) at the same employer's domain.
    NameCompany,
}

impl Rule {
    /// Every rule, strongest first.
    pub const ALL: [Rule; 3] = [Rule::Email, Rule::Phone, Rule::NameCompany];

    /// The rule's name in the API, the configuration and the audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Email => "email",
            Rule::Phone => "phone",
            Rule::NameCompany => "name_company",
        }
    }

    /// The rule named `s`.
    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// How likely two leads matching this rule alone are one person (0..1): a shared
    /// address is nearly always one person, a shared phone may be a switchboard, two people
    /// of one name do work at one large company.
    pub fn weight(self) -> f64 {
        match self {
            Rule::Email => 0.95,
            Rule::Phone => 0.80,
            Rule::NameCompany => 0.60,
        }
    }
}

/// A key shared by more leads than this is no person's (a role mailbox such as `info@`, a
/// switchboard number): it makes no candidates.
pub const MAX_SHARING: usize = 50;

/// The score of a pair matching `rules`: the chance that not every rule is wrong, taking the
/// rules as independent: `1 − Π(1 − weight)`. One rule scores its weight; more score higher.
pub fn score(rules: &[Rule]) -> f64 {
    1.0 - rules.iter().map(|r| 1.0 - r.weight()).product::<f64>()
}

/// A lead's keys, one per [`Rule`] (empty: the rule cannot match this lead).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchKeys {
    pub email: String,
    pub phone: String,
    pub name_company: String,
}

impl MatchKeys {
    /// The keys of a contact (its e-mail, phone and name) at a company (its domain as
    /// given; the employer's domain is taken from it or else from the e-mail).
    pub fn of(email: &str, phone: &str, name: &str, company_domain: &str) -> MatchKeys {
        MatchKeys {
            email: email_key(email),
            phone: phone_key(phone),
            name_company: name_company_key(name, email, company_domain),
        }
    }
}

/// The [`Rule::NameCompany`] key: [`name_key`] `@` the employer's domain (the company's
/// domain, else the e-mail's, never a consumer mail provider); empty without either.
pub fn name_company_key(name: &str, email: &str, company_domain: &str) -> String {
    let name = name_key(name);
    if name.is_empty() {
        return name;
    }
    match employer_domain(company_domain, &email_domain(email)) {
        // A placeholder such as "N/A" is no domain.
        Some(d) if d.contains('.') => format!("{name}@{d}"),
        _ => String::new(),
    }
}

/// An e-mail address as one mailbox: trimmed and lower-cased, a `+tag` sub-address dropped,
/// and for Gmail (which ignores dots, and answers for `googlemail.com` too) the dots of the
/// local part dropped. Empty for a text that is no address.
pub fn email_key(raw: &str) -> String {
    let s: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    let Some((local, domain)) = s.rsplit_once('@') else {
        return String::new();
    };
    let domain = domain.trim_end_matches('.');
    if local.is_empty() || !domain.contains('.') || s.chars().any(char::is_whitespace) {
        return String::new();
    }
    let local = local.split('+').next().unwrap_or_default();
    let (local, domain) = match domain {
        "gmail.com" | "googlemail.com" => (local.replace('.', ""), "gmail.com"),
        _ => (local.to_string(), domain),
    };
    if local.is_empty() {
        return String::new();
    }
    format!("{local}@{domain}")
}

/// Country calling codes of two digits (ITU-T E.164); `1` and `7` are the one-digit codes,
/// every other code has three digits. The set is prefix-free, so a number's code is read
/// off its first digits without knowing its country.
const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// A phone number as its national significant number, so that `+86 138 0013 8000`,
/// `0086-138-0013-8000` and `138 0013 8000` match, and so do `+49 30 1234567` and
/// `030 1234567`:
/// - a label before the number (`Tel`, `Mobile:`) is dropped, and an extension (from the
///   first letter, `#`, `,` or `;` after the first digit on), then every character but the
///   digits;
/// - an international number (a `+` before the digits, or `00` first) loses its country code (one, two or three
///   digits, read by [`TWO_DIGIT_CODES`]) and a `(0)` written after it;
/// - a national number loses one leading trunk `0`.
///
/// Empty when fewer than 7 digits are left (an extension or a typo is no person's number).
/// Two people in different countries with one national number make a candidate; written in
/// national form with a trunk prefix other than `0` (`1-415-…` in the US), a number does
/// not match its international form. docs/IDENTITY.md says so.
pub fn phone_key(raw: &str) -> String {
    let s: String = raw.nfkc().collect();
    // Before the first digit: a label ("Tel", "Mobile:") and maybe the `+`.
    let Some(first) = s.find(|c: char| c.is_ascii_digit()) else {
        return String::new();
    };
    let (head, body) = s.split_at(first);
    let cut = body
        .find(|c: char| c.is_alphabetic() || "#,;".contains(c))
        .unwrap_or(body.len());
    let mut digits: String = body[..cut].chars().filter(char::is_ascii_digit).collect();
    let plus = head.contains('+');
    let international = plus || digits.starts_with("00");
    if international {
        if !plus {
            digits.drain(..2);
        }
        let code = if digits.starts_with('1') || digits.starts_with('7') {
            1
        } else if TWO_DIGIT_CODES.iter().any(|c| digits.starts_with(c)) {
            2
        } else {
            3
        };
        digits.drain(..code.min(digits.len()));
        // "+49 (0)30 …": the trunk zero some people write after the country code.
        if digits.starts_with('0') {
            digits.remove(0);
        }
    } else if digits.starts_with('0') {
        digits.remove(0);
    }
    if digits.len() < 7 {
        return String::new();
    }
    digits
}

/// A person's name as a key: accents dropped (NFKD, combining marks removed), lower-cased,
/// every run of other characters than letters a break, the words in alphabetical order (so
/// `Smith, John` is `John Smith`). Empty unless at least two of its words are more than an
/// initial (one Latin letter), or it is one word of two letters or more written without
/// Latin letters (a Chinese name such as `张伟`): one Latin first name, initials or a
/// placeholder (`N/A`, `123`) say too little.
pub fn name_key(raw: &str) -> String {
    let folded: String = raw
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphabetic() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    words.sort_unstable();
    // An initial: one Latin letter. A one-letter word of another script is a name (王).
    let initial = |w: &str| w.chars().count() < 2 && w.chars().all(|c| c.is_ascii_alphabetic());
    let enough = match words.as_slice() {
        [] => false,
        [one] => one.chars().count() >= 2 && !one.chars().any(|c| c.is_ascii_alphabetic()),
        _ => words.iter().filter(|w| !initial(w)).count() >= 2,
    };
    if enough {
        words.join(" ")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mailbox_written_many_ways_is_one_key() {
        for raw in [
            "alice@acme.com",
            " Alice@ACME.com ",
            "alice+newsletter@acme.com",
            "ALICE+x+y@acme.com.",
        ] {
            assert_eq!(email_key(raw), "alice@acme.com", "{raw}");
        }
        assert_eq!(email_key("A.Li.Ce+promo@googlemail.com"), "alice@gmail.com");
        assert_eq!(email_key("a.lice@gmail.com"), "alice@gmail.com");
        // Dots matter everywhere else.
        assert_ne!(email_key("a.lice@acme.com"), email_key("alice@acme.com"));
        for bad in [
            "",
            "alice",
            "alice@",
            "@acme.com",
            "+x@acme.com",
            "a b@acme.com",
            "a@localhost",
        ] {
            assert_eq!(email_key(bad), "", "{bad:?}");
        }
    }

    #[test]
    fn one_number_written_many_ways_is_one_key() {
        for raw in [
            "+86 138 0013 8000",
            "0086-138-0013-8000",
            "138 0013 8000",
            "+86 (138) 0013-8000 ext. 12",
            "１３８００１３８０００",
        ] {
            assert_eq!(phone_key(raw), "13800138000", "{raw}");
        }
        for raw in [
            "+49 30 1234567",
            "+49 (0)30 1234567",
            "030 1234567",
            "0049 30 1234567",
        ] {
            assert_eq!(phone_key(raw), "301234567", "{raw}");
        }
        for raw in ["+1 (415) 555-0100", "(415) 555-0100", "415.555.0100 x12"] {
            assert_eq!(phone_key(raw), "4155550100", "{raw}");
        }
        // Labels and a bracketed +.
        for raw in [
            "Tel: +86 138 0013 8000",
            "Mobile (+86) 138-0013-8000",
            "手机 138 0013 8000",
        ] {
            assert_eq!(phone_key(raw), "13800138000", "{raw}");
        }
        // Three-digit codes: Hong Kong, Ireland.
        assert_eq!(phone_key("+852 2345 6789"), "23456789");
        assert_eq!(phone_key("+353 1 234 5678"), "12345678");
        // Another area code is another number.
        assert_ne!(phone_key("(515) 555-0100"), phone_key("(415) 555-0100"));
        for bad in ["", "12345", "ext. 12", "+86 123", "n/a"] {
            assert_eq!(phone_key(bad), "", "{bad:?}");
        }
    }

    #[test]
    fn a_name_is_its_words_without_accents_in_order() {
        assert_eq!(name_key("John Smith"), "john smith");
        assert_eq!(name_key("Smith, John"), "john smith");
        assert_eq!(name_key("  JOHN   smith "), "john smith");
        assert_eq!(
            name_key("José Müller-Lüdenscheidt"),
            "jose ludenscheidt muller"
        );
        assert_eq!(name_key("张伟"), "张伟");
        assert_eq!(name_key("王 小明"), "小明 王");
        for thin in [
            "", "John", "  ", "J", "张", "--", "N/A", "12345", "J. S.", "John 42",
        ] {
            assert_eq!(name_key(thin), "", "{thin:?}");
        }
    }

    #[test]
    fn a_name_matches_only_at_an_employer() {
        let c = |email: &str, name: &str, domain: &str| MatchKeys::of(email, "", name, domain);
        let k = c("jsmith@acme.com", "John Smith", "");
        assert_eq!(k.name_company, "john smith@acme.com");
        assert_eq!(k.email, "jsmith@acme.com");
        assert_eq!(k.phone, "");
        // The company's domain wins over the e-mail's.
        let k = c("john@gmail.com", "Smith John", "www.Acme.com");
        assert_eq!(k.name_company, "john smith@acme.com");
        // A placeholder names no employer.
        assert_eq!(c("", "John Smith", "N/A").name_company, "");
        // Free mail names no employer.
        let k = c("john@gmail.com", "John Smith", "");
        assert_eq!(k.name_company, "");
        // An erased contact has no keys.
        assert_eq!(MatchKeys::of("", "", "", "acme.com"), MatchKeys::default());
    }

    #[test]
    fn scores_grow_with_the_rules_matched() {
        assert!((score(&[Rule::Email]) - 0.95).abs() < 1e-12);
        assert!((score(&[Rule::Email, Rule::Phone]) - 0.99).abs() < 1e-12);
        assert!(score(&[Rule::Phone, Rule::NameCompany]) > score(&[Rule::Phone]));
        assert_eq!(score(&[]), 0.0);
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.as_str()), Some(r));
        }
        assert_eq!(Rule::parse("fuzzy"), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keys_are_their_own_keys(email in "[A-Za-z0-9.+]{1,12}@[a-z]{1,8}\\.(com|cn|io)",
                                   name in "[A-Za-zé ,.-]{0,24}") {
            let e = email_key(&email);
            prop_assert_eq!(email_key(&e), e.clone());
            prop_assert_eq!(email_key(&email.to_uppercase()), e);
            let n = name_key(&name);
            prop_assert_eq!(name_key(&n), n.clone());
            prop_assert_eq!(name_key(&name.to_uppercase()), n);
        }

        #[test]
        fn a_phone_key_is_digits_and_the_punctuation_does_not_matter(
            d in "[1-9][0-9]{6,11}", sep in "[ .()-]{0,2}") {
            let spaced: String = d.chars().flat_map(|c| [c].into_iter().chain(sep.chars())).collect();
            prop_assert_eq!(phone_key(&spaced), phone_key(&d));
            prop_assert_eq!(phone_key(&d), d.clone());
        }
    }
}
