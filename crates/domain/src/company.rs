//! Companies as the e-mail and company fields name them: a domain normalised, and whether it
//! names an employer at all (a consumer mail provider does not). Attribution's accounts and
//! the duplicate rules (`identity::matching`) read the same rules.

/// Consumer mail providers: a shared domain here says nothing about a shared employer.
pub const FREE_MAIL_DOMAINS: &[&str] = &[
    "126.com",
    "139.com",
    "163.com",
    "188.com",
    "189.cn",
    "aliyun.com",
    "aol.com",
    "foxmail.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "sina.cn",
    "sina.com",
    "sohu.com",
    "tom.com",
    "vip.163.com",
    "vip.qq.com",
    "vip.sina.com",
    "wo.cn",
    "yahoo.co.jp",
    "yahoo.com",
    "yahoo.com.cn",
    "yandex.com",
    "yandex.ru",
    "yeah.net",
    "ymail.com",
    "zoho.com",
];

/// The normalised domain of a company domain, URL or e-mail address; `None` if empty.
pub fn normalize_domain(raw: &str) -> Option<String> {
    let mut d = raw.trim().to_ascii_lowercase();
    if let Some(at) = d.rfind('@') {
        d = d[at + 1..].to_string();
    }
    for scheme in ["https://", "http://"] {
        if let Some(rest) = d.strip_prefix(scheme) {
            d = rest.to_string();
        }
    }
    if let Some(slash) = d.find('/') {
        d.truncate(slash);
    }
    let d = d.strip_prefix("www.").unwrap_or(&d).trim_end_matches('.');
    (!d.is_empty()).then(|| d.to_string())
}

/// Whether `domain` (normalised) is a consumer mail provider.
pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL_DOMAINS.contains(&domain)
}

/// The employer's domain of a lead: the first of its company domain and its e-mail domain
/// that is present and no consumer mail provider, normalised; `None` with neither.
pub fn employer_domain(company_domain: &str, email_domain: &str) -> Option<String> {
    [
        normalize_domain(company_domain),
        normalize_domain(email_domain),
    ]
    .into_iter()
    .flatten()
    .find(|d| !is_free_mail(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_employer_is_the_first_domain_that_is_not_free_mail() {
        assert_eq!(
            employer_domain("https://www.Acme.com/about", "x@acme.io"),
            Some("acme.com".into())
        );
        assert_eq!(
            employer_domain("", "alice@Globex.COM"),
            Some("globex.com".into())
        );
        assert_eq!(employer_domain("gmail.com", "alice@qq.com"), None);
        assert_eq!(employer_domain("", ""), None);
    }
}
