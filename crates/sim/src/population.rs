//! Who the leads are: accounts (companies), contacts, the sales staff and capture times.
//!
//! Accounts are drawn once and reused by a share of later leads, because several people of
//! one company show up (the "company or contact?" attribution question needs that), and an
//! account keeps one region, industry and segment however many contacts it has.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use leadledger_api::pb;
use rand::Rng;

use crate::channels::KA_SHARE;
use crate::config::SimConfig;
use crate::dist::{chance, is_weekend_day, lognormal_median, pick, weighted_index};

/// A sales region: its name (as written to `Company.region`), team slug, lead weight and
/// cities `(name, pinyin, area code)`.
pub(crate) struct Region {
    pub name: &'static str,
    pub slug: &'static str,
    pub weight: f64,
    pub cities: &'static [(&'static str, &'static str, &'static str)],
}

/// Regions as practitioners route them (`docs/DOMAIN.md`, §Routing); the East (Shanghai and
/// its hinterland) dominates. The weights are modelling choices.
pub(crate) const REGIONS: [Region; 5] = [
    Region {
        name: "华东",
        slug: "east",
        weight: 0.36,
        cities: &[
            ("上海", "shanghai", "21"),
            ("杭州", "hangzhou", "571"),
            ("南京", "nanjing", "25"),
            ("苏州", "suzhou", "512"),
        ],
    },
    Region {
        name: "华北",
        slug: "north",
        weight: 0.24,
        cities: &[
            ("北京", "beijing", "10"),
            ("天津", "tianjin", "22"),
            ("石家庄", "shijiazhuang", "311"),
        ],
    },
    Region {
        name: "华南",
        slug: "south",
        weight: 0.20,
        cities: &[
            ("广州", "guangzhou", "20"),
            ("深圳", "shenzhen", "755"),
            ("东莞", "dongguan", "769"),
        ],
    },
    Region {
        name: "华中",
        slug: "central",
        weight: 0.10,
        cities: &[
            ("武汉", "wuhan", "27"),
            ("长沙", "changsha", "731"),
            ("郑州", "zhengzhou", "371"),
        ],
    },
    Region {
        name: "西南",
        slug: "southwest",
        weight: 0.10,
        cities: &[
            ("成都", "chengdu", "28"),
            ("重庆", "chongqing", "23"),
            ("昆明", "kunming", "871"),
        ],
    },
];

/// An industry: its slug (as written to `Company.industry`), lead weight and company-name
/// suffixes `(name, pinyin)`.
pub(crate) struct Industry {
    pub slug: &'static str,
    pub weight: f64,
    pub suffixes: &'static [(&'static str, &'static str)],
}

/// Industries as practitioners route them (`docs/DOMAIN.md`, §Routing). The weights are
/// modelling choices.
pub(crate) const INDUSTRIES: [Industry; 6] = [
    Industry {
        slug: "retail_fmcg",
        weight: 0.20,
        suffixes: &[("食品", "foods"), ("零售", "retail"), ("日化", "dailychem")],
    },
    Industry {
        slug: "finance",
        weight: 0.16,
        suffixes: &[
            ("证券", "securities"),
            ("银行", "bank"),
            ("保险", "insurance"),
            ("基金", "fund"),
        ],
    },
    Industry {
        slug: "manufacturing",
        weight: 0.24,
        suffixes: &[
            ("精密机械", "precision"),
            ("汽车零部件", "autoparts"),
            ("电子", "electronics"),
        ],
    },
    Industry {
        slug: "commercial_real_estate",
        weight: 0.10,
        suffixes: &[("置业", "properties"), ("商业地产", "realty")],
    },
    Industry {
        slug: "education",
        weight: 0.12,
        suffixes: &[("教育", "edu"), ("培训", "training")],
    },
    Industry {
        slug: "internet",
        weight: 0.18,
        suffixes: &[("科技", "tech"), ("网络", "network"), ("数字", "digital")],
    },
];

const NAME_STEMS: [(&str, &str); 24] = [
    ("华信", "huaxin"),
    ("中科", "zhongke"),
    ("金丰", "jinfeng"),
    ("天宇", "tianyu"),
    ("恒泰", "hengtai"),
    ("瑞达", "ruida"),
    ("博远", "boyuan"),
    ("星河", "xinghe"),
    ("凯明", "kaiming"),
    ("龙腾", "longteng"),
    ("盛世", "shengshi"),
    ("安达", "anda"),
    ("新元", "xinyuan"),
    ("嘉禾", "jiahe"),
    ("汇通", "huitong"),
    ("鼎盛", "dingsheng"),
    ("云帆", "yunfan"),
    ("海川", "haichuan"),
    ("东方", "dongfang"),
    ("远景", "yuanjing"),
    ("正阳", "zhengyang"),
    ("同创", "tongchuang"),
    ("九洲", "jiuzhou"),
    ("明泰", "mingtai"),
];

/// A company.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub name: String,
    pub domain: String,
    pub region: usize,
    pub city: usize,
    pub industry: usize,
    pub ka: bool,
    pub employees: u32,
}

impl Account {
    pub fn region(&self) -> &'static Region {
        &REGIONS[self.region]
    }

    pub fn industry(&self) -> &'static str {
        INDUSTRIES[self.industry].slug
    }

    pub fn segment(&self) -> pb::Segment {
        if self.ka {
            pb::Segment::Ka
        } else {
            pb::Segment::Smb
        }
    }

    pub fn to_proto(&self) -> pb::Company {
        pb::Company {
            name: self.name.clone(),
            domain: self.domain.clone(),
            region: self.region().name.to_string(),
            industry: self.industry().to_string(),
            segment: self.segment() as i32,
            employees: self.employees,
            // The simulated sources have no CRM account ids: accounts form by domain.
            account_id: String::new(),
        }
    }
}

/// The accounts drawn so far.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    list: Vec<Account>,
    domains: BTreeSet<String>,
}

/// Share of leads from a company that already has a lead.
const REPEAT_ACCOUNT: f64 = 0.2;

impl Accounts {
    /// The account of the next lead: an existing one sometimes, else a new one. Reuse is
    /// uniform, so the KA share of leads stays [`KA_SHARE`].
    pub fn next(&mut self, rng: &mut impl Rng) -> &Account {
        let i = if !self.list.is_empty() && chance(rng, REPEAT_ACCOUNT) {
            rng.gen_range(0..self.list.len())
        } else {
            let a = self.new_account(rng);
            self.list.push(a);
            self.list.len() - 1
        };
        &self.list[i]
    }

    fn new_account(&mut self, rng: &mut impl Rng) -> Account {
        let region = weighted_index(rng, REGIONS.iter().map(|r| r.weight));
        let industry = weighted_index(rng, INDUSTRIES.iter().map(|i| i.weight));
        let ka = chance(rng, KA_SHARE);
        let city = rng.gen_range(0..REGIONS[region].cities.len());
        let (city_name, city_py, _) = REGIONS[region].cities[city];
        let (suffix, suffix_py) = *pick(rng, INDUSTRIES[industry].suffixes);
        let tld = if chance(rng, 0.6) { "com" } else { "cn" };
        // One stem, then two, then numbered: names stay readable and domains unique.
        let mut attempt = 0u32;
        let (stem, domain) = loop {
            let (s1, p1) = *pick(rng, &NAME_STEMS);
            let (mut stem, mut stem_py) = if attempt < 4 {
                (s1.to_string(), p1.to_string())
            } else {
                let (s2, p2) = *pick(rng, &NAME_STEMS);
                (format!("{s1}{s2}"), format!("{p1}{p2}"))
            };
            if attempt >= 12 {
                stem.push_str(&attempt.to_string());
                stem_py.push_str(&attempt.to_string());
            }
            let domain = format!("{stem_py}-{suffix_py}-{city_py}.{tld}");
            if !self.domains.contains(&domain) {
                break (stem, domain);
            }
            attempt += 1;
        };
        self.domains.insert(domain.clone());
        let form = if ka { "集团" } else { "有限公司" };
        let employees = if ka {
            lognormal_median(rng, 3000.0, 0.9).clamp(500.0, 200_000.0)
        } else {
            lognormal_median(rng, 120.0, 0.9).clamp(10.0, 1999.0)
        };
        Account {
            name: format!("{city_name}{stem}{suffix}{form}"),
            domain,
            region,
            city,
            industry,
            ka,
            employees: employees.round() as u32,
        }
    }
}

const SURNAMES: [(&str, &str); 16] = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
];

const GIVEN_NAMES: [(&str, &str); 20] = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("磊", "lei"),
    ("洋", "yang"),
    ("军", "jun"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("辉", "hui"),
    ("强", "qiang"),
    ("婷", "ting"),
    ("浩然", "haoran"),
    ("子涵", "zihan"),
    ("思远", "siyuan"),
    ("佳怡", "jiayi"),
    ("建国", "jianguo"),
];

const TITLES: [&str; 10] = [
    "CIO",
    "IT总监",
    "数字化转型负责人",
    "市场总监",
    "销售副总裁",
    "运营经理",
    "采购经理",
    "CEO",
    "产品经理",
    "财务总监",
];

const MOBILE_PREFIXES: [&str; 12] = [
    "130", "133", "135", "136", "138", "139", "150", "152", "158", "186", "188", "189",
];

/// A contact at `account`: mostly both e-mail and phone; bought lists and trade shows often
/// give only a phone, some web forms only an e-mail.
pub(crate) fn contact(rng: &mut impl Rng, account: &Account, phone_only: f64) -> pb::Contact {
    let (surname, surname_py) = *pick(rng, &SURNAMES);
    let (given, given_py) = *pick(rng, &GIVEN_NAMES);
    let local = match rng.gen_range(0..3) {
        0 => format!("{given_py}.{surname_py}"),
        1 => format!("{surname_py}{given_py}"),
        _ => format!("{given_py}{surname_py}{}", rng.gen_range(1..100)),
    };
    let (_, _, area) = account.region().cities[account.city];
    let phone = if chance(rng, 0.85) {
        format!(
            "+86 {} {:04} {:04}",
            pick(rng, &MOBILE_PREFIXES),
            rng.gen_range(0..10_000),
            rng.gen_range(0..10_000)
        )
    } else {
        format!(
            "+86 ({area}) {:04}-{:04}",
            rng.gen_range(2000..9000),
            rng.gen_range(0..10_000)
        )
    };
    let x = rng.gen::<f64>();
    let (email, phone) = if x < phone_only {
        (String::new(), phone)
    } else if x < phone_only + 0.04 {
        (format!("{local}@{}", account.domain), String::new())
    } else {
        (format!("{local}@{}", account.domain), phone)
    };
    pb::Contact {
        email,
        phone,
        name: format!("{surname}{given}"),
        title: pick(rng, &TITLES).to_string(),
    }
}

/// A sales rep. Quality is one number because in the field the same reps follow up faster
/// and write more complete feedback.
#[derive(Debug, Clone)]
pub(crate) struct Rep {
    pub id: String,
    /// Chance of filling each stage-feedback field.
    pub diligence: f64,
    /// Multiplier on follow-up delay (below 1: faster than the median rep).
    pub slowness: f64,
}

/// Reps per team; teams are region × segment (`east-ka`, `east-smb`, ...).
const REPS_PER_TEAM: usize = 4;
/// Presales engineers running POCs.
pub(crate) const SOLUTION_ENGINEERS: usize = 8;
/// Key partners headquarters distributes leads to.
pub(crate) const PARTNERS: usize = 12;

/// The sales organisation.
#[derive(Debug)]
pub(crate) struct Staff {
    teams: Vec<(String, Vec<Rep>)>,
}

impl Staff {
    pub fn new(rng: &mut impl Rng) -> Staff {
        let mut n = 0;
        let teams = REGIONS
            .iter()
            .flat_map(|r| ["ka", "smb"].map(|s| format!("{}-{s}", r.slug)))
            .map(|team| {
                let reps = (0..REPS_PER_TEAM)
                    .map(|_| {
                        n += 1;
                        let q = rng.gen::<f64>();
                        Rep {
                            id: format!("rep-{n:02}"),
                            diligence: 0.35 + 0.6 * q,
                            slowness: 1.5 - 0.9 * q,
                        }
                    })
                    .collect();
                (team, reps)
            })
            .collect();
        Staff { teams }
    }

    /// The team of an account and a rep of it.
    pub fn assign(&self, rng: &mut impl Rng, account: &Account) -> (&str, &Rep) {
        let (team, reps) = &self.teams[account.region * 2 + usize::from(!account.ka)];
        (team, pick(rng, reps))
    }
}

/// Capture time: a uniform day of the window, weekends much rarer, during the local
/// (CST) day with a business-hours peak and some evening sign-ups.
pub(crate) fn capture_time(rng: &mut impl Rng, cfg: &SimConfig) -> DateTime<Utc> {
    const LOCAL_HOURS: [(i64, f64); 8] = [
        (8, 0.03),
        (9, 0.12),
        (10, 0.16),
        (11, 0.13),
        (13, 0.11),
        (14, 0.16),
        (15, 0.15),
        (20, 0.14),
    ];
    let window = i64::from(cfg.capture_days.max(1));
    let day = loop {
        let d = rng.gen_range(0..window);
        let date = cfg.start + Duration::days(d);
        let local_day = (date.timestamp() + 8 * 3600).div_euclid(86_400);
        if !is_weekend_day(local_day) || chance(rng, 0.3) {
            break d;
        }
    };
    let i = weighted_index(rng, LOCAL_HOURS.iter().map(|h| h.1));
    // The hour bucket spans two hours for the evening one, one hour otherwise; CST hours
    // 08..23 are UTC 00..15, the same UTC day as the window day.
    let span = if LOCAL_HOURS[i].0 == 20 { 7200 } else { 3600 };
    let secs = (LOCAL_HOURS[i].0 - 8) * 3600 + rng.gen_range(0..span);
    cfg.start + Duration::days(day) + Duration::seconds(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn domains_are_unique_and_ka_share_holds() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut accounts = Accounts::default();
        let mut ka = 0;
        let n = 20_000;
        for _ in 0..n {
            if accounts.next(&mut rng).ka {
                ka += 1;
            }
        }
        assert_eq!(accounts.domains.len(), accounts.list.len());
        let share = f64::from(ka) / f64::from(n);
        assert!((0.17..0.23).contains(&share), "{share}");
    }

    #[test]
    fn captures_stay_in_the_window() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let cfg = SimConfig::default();
        for _ in 0..5000 {
            let t = capture_time(&mut rng, &cfg);
            assert!(t >= cfg.start && t < cfg.capture_end(), "{t}");
        }
    }
}
