//! What a search's words are taken to mean, the way Meilisearch and
//! Typesense take them: each word matches itself, the dictionary's words
//! within its typo budget (one typo from five letters, two from nine; a
//! typo is a letter inserted, deleted or replaced, or two neighbours
//! swapped), and its synonyms; the last word, while it is being typed,
//! matches as a prefix too.
//!
//! The dictionary (migration 000024) holds the words of every listed
//! agent's name, summary, tags and category, each with the strings one or
//! two deleted letters make of it: a query word's own deletions find every
//! word that may be within its budget in one indexed lookup, and
//! `distance` keeps those that are.

use diesel::QueryResult;
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Bool, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::ServiceError;
use crate::sql::{self, Params, Statement};

/// The most words of a query that count; the rest are ignored.
pub(super) const MAX_WORDS: usize = 10;
/// The most dictionary words a prefix stands for (the most used first):
/// five per letter typed, up to this. A first keystroke stands for its
/// five most used words, not twenty: each is one more condition to match
/// and rank thousands of agents by, for a result the next keystroke
/// replaces.
const MAX_COMPLETIONS: i64 = 20;
/// The shortest word matched as a prefix in the agents' own texts (a
/// READMEs' index read for every word beginning with one letter would be
/// the most expensive search there is); shorter ones still stand for their
/// most used completions from the dictionary.
const MIN_PREFIX_CHARS: usize = 2;

/// Equivalent words and phrases: a query for one also finds the others.
const SYNONYMS: &[&[&str]] = &[
    &["email", "mail"],
    &["seo", "search engine"],
    &["crm", "customer relationship"],
    &["faq", "frequently asked questions"],
    &["kpi", "key performance indicator"],
    &["ai", "artificial intelligence"],
    &["website", "web site"],
    &["helpdesk", "help desk"],
];

/// Typos a word of `letters` letters may have and still match.
pub(super) fn typo_budget(letters: usize) -> usize {
    match letters {
        0..5 => 0,
        5..9 => 1,
        _ => 2,
    }
}

/// The optimal-string-alignment distance: letters inserted, deleted or
/// replaced, and neighbours swapped (each once), to make `a` into `b`.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two back, one back, this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let replace = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + replace);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            row[j] = best;
        }
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    last[b.len()]
}

/// What one word of a query, or one synonym phrase in it, matches.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Unit {
    /// The query's words this unit stands for (one, or a phrase's).
    pub words: Vec<String>,
    /// A stop word ("the", "for"): matched by every agent, ranked by none.
    pub stop: bool,
    /// Matched as typed: the words themselves, the dictionary words the
    /// last word is a prefix of, synonyms (phrases as lists of words).
    pub exact: Vec<Vec<String>>,
    /// Whether the unit's own word matches as a prefix too.
    pub prefix: bool,
    /// Dictionary words within the typo budget.
    pub typos: Vec<String>,
    /// Whether the dictionary has the word as typed.
    pub known: bool,
}

impl Unit {
    /// The unit as a `to_tsquery` text: its exact terms, and its typos when
    /// `fuzzy`; in names only (weight A) when `names`.
    pub fn tsquery(&self, fuzzy: bool, names: bool) -> String {
        let weight = if names { "A" } else { "" };
        let lexeme = |word: &str, prefix: bool| {
            let quoted = word.replace('\\', "\\\\").replace('\'', "''");
            let label = format!("{}{weight}", if prefix { "*" } else { "" });
            if label.is_empty() {
                format!("'{quoted}'")
            } else {
                format!("'{quoted}':{label}")
            }
        };
        let mut terms: Vec<String> = Vec::new();
        for (n, phrase) in self.exact.iter().enumerate() {
            let prefix = n == 0
                && self.prefix
                && phrase.iter().all(|w| w.chars().count() >= MIN_PREFIX_CHARS);
            let parts: Vec<String> = phrase.iter().map(|w| lexeme(w, prefix)).collect();
            terms.push(if parts.len() == 1 {
                parts.into_iter().next().unwrap_or_default()
            } else {
                format!("({})", parts.join(" <-> "))
            });
        }
        if fuzzy {
            terms.extend(self.typos.iter().map(|w| lexeme(w, false)));
        }
        format!("({})", terms.join(" | "))
    }

    /// The words a result shows that this unit matched.
    fn highlights(&self) -> impl Iterator<Item = &String> {
        self.exact.iter().flatten().chain(&self.typos)
    }
}

/// A query, understood.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Meaning {
    pub units: Vec<Unit>,
}

impl Meaning {
    /// The units that rank and filter (not stop words).
    pub fn searched(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(|unit| !unit.stop)
    }

    /// The words to mark in results, lower-cased and each once.
    pub fn highlights(&self) -> Vec<String> {
        let mut words: Vec<String> = self
            .searched()
            .flat_map(Unit::highlights)
            .cloned()
            .collect();
        words.sort();
        words.dedup();
        words
    }
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Integer)]
    n: i32,
    #[diesel(sql_type = Text)]
    word: String,
    #[diesel(sql_type = Nullable<Text>)]
    found: Option<String>,
    #[diesel(sql_type = Text)]
    how: String,
}

/// The query's words (split as listings are), in order, each a `word` or a
/// `stop` word; then the dictionary words each one's deletions reach
/// (`near`), and the most used words the last one begins (`prefix`, while
/// it is typed).
const UNDERSTAND: &str = "\
WITH q AS (
    SELECT t.word, t.n::integer AS n
    FROM search_words_of(@q) WITH ORDINALITY AS t (word, n)
    WHERE length(t.word) <= 40
    ORDER BY t.n LIMIT @max_words
),
last AS (SELECT max(n) AS n FROM q)
SELECT q.n, q.word, NULL::text AS found,
       CASE WHEN numnode(plainto_tsquery('english', q.word)) = 0 THEN 'stop' ELSE 'word' END AS how
FROM q
UNION ALL
SELECT q.n, q.word, s.word::text, 'near'
FROM q
CROSS JOIN LATERAL (
    SELECT DISTINCT v.word
    FROM unnest(search_deletions(q.word COLLATE \"C\",
                                 CASE WHEN length(q.word) >= 9 THEN 2
                                      WHEN length(q.word) >= 5 THEN 1 ELSE 0 END)) AS d (variant)
    JOIN search_word_variants v ON v.variant = d.variant
) AS near
JOIN search_words s ON s.word = near.word AND s.agents > 0
UNION ALL
SELECT q.n, q.word, p.word::text, 'prefix'
FROM q JOIN last ON last.n = q.n
CROSS JOIN LATERAL (
    SELECT c.word FROM (
        SELECT s.word, s.agents FROM search_words s
        WHERE s.word > (q.word COLLATE \"C\") AND s.word < (q.word || chr(1114111)) COLLATE \"C\"
          AND s.agents > 0
        ORDER BY s.agents DESC, s.word LIMIT least(@max_completions, 5 * length(q.word)) + 20
    ) AS c
    WHERE numnode(plainto_tsquery('english', c.word)) > 0
    ORDER BY c.agents DESC, c.word LIMIT least(@max_completions, 5 * length(q.word))
) AS p
WHERE @prefix
ORDER BY 1, 4, 3";

struct UnderstandParams<'a> {
    q: &'a str,
    prefix: bool,
}

impl Params for UnderstandParams<'_> {
    fn bind<'b>(&'b self, name: &str, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match name {
            "q" => out.push_bind_param::<Text, _>(self.q),
            "prefix" => out.push_bind_param::<Bool, _>(&self.prefix),
            "max_words" => out.push_bind_param::<Integer, _>(&(MAX_WORDS as i32)),
            "max_completions" => {
                out.push_bind_param::<diesel::sql_types::BigInt, _>(&MAX_COMPLETIONS)
            }
            other => Err(sql::unknown(other)),
        }
    }
}

/// Understands `q`; `prefix` when its last word may still be being typed
/// (the text does not end in a space).
pub(super) async fn understand(
    conn: &mut AsyncPgConnection,
    q: &str,
    prefix: bool,
) -> Result<Meaning, ServiceError> {
    let rows: Vec<Found> = Statement {
        text: UNDERSTAND,
        params: UnderstandParams { q, prefix },
    }
    .load(conn)
    .await?;
    Ok(meaning(&rows, prefix))
}

/// The meaning of a query from what the dictionary said of its words.
fn meaning(rows: &[Found], prefix: bool) -> Meaning {
    let words: Vec<(i32, &str)> = rows
        .iter()
        .filter(|row| row.how == "word" || row.how == "stop")
        .map(|row| (row.n, row.word.as_str()))
        .collect();
    let last = words.last().map(|(n, _)| *n);
    let of = |n: i32| rows.iter().filter(move |row| row.n == n);
    let mut units = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let rest: Vec<&str> = words[i..].iter().map(|(_, w)| *w).collect();
        // A synonym phrase in the query is one unit.
        if let Some((group, len)) = phrase_at(&rest) {
            let typed: Vec<String> = rest[..len].iter().map(|w| (*w).to_owned()).collect();
            let mut exact = vec![typed.clone()];
            exact.extend(
                group
                    .iter()
                    .map(|member| member.split(' ').map(str::to_owned).collect::<Vec<_>>())
                    .filter(|member| *member != typed),
            );
            units.push(Unit {
                words: typed,
                stop: false,
                exact,
                prefix: false,
                typos: Vec::new(),
                known: true,
            });
            i += len;
            continue;
        }
        let (n, word) = words[i];
        let budget = typo_budget(word.chars().count());
        let typing = prefix && Some(n) == last;
        // A stop word being typed is searched for what it may become ("s"
        // for "sales"; the dictionary's completions are never stop words),
        // not for itself, if it may become anything.
        let stop_word = of(n).any(|row| row.how == "stop");
        let completed = typing && of(n).any(|row| row.how == "prefix");
        let mut unit = Unit {
            words: vec![word.to_owned()],
            stop: stop_word && !completed,
            exact: if stop_word {
                Vec::new()
            } else {
                vec![vec![word.to_owned()]]
            },
            prefix: typing && !stop_word,
            typos: Vec::new(),
            known: false,
        };
        for row in of(n) {
            let Some(found) = row.found.as_deref() else {
                continue;
            };
            if found == word {
                unit.known = true;
                continue;
            }
            match row.how.as_str() {
                "near" if distance(word, found) <= budget => unit.typos.push(found.to_owned()),
                "prefix" if typing => unit.exact.push(vec![found.to_owned()]),
                _ => {}
            }
        }
        for group in SYNONYMS.iter().filter(|group| group.contains(&word)) {
            unit.exact.extend(
                group
                    .iter()
                    .filter(|member| **member != word)
                    .map(|member| member.split(' ').map(str::to_owned).collect()),
            );
        }
        // A typo that is also a completion counts as the completion.
        unit.typos.retain(|typo| {
            !unit
                .exact
                .iter()
                .any(|exact| exact.len() == 1 && exact[0] == *typo)
        });
        unit.typos.sort();
        unit.typos.dedup();
        units.push(unit);
        i += 1;
    }
    Meaning { units }
}

/// The synonym group whose phrase of more than one word starts `words`,
/// and its length.
fn phrase_at(words: &[&str]) -> Option<(&'static [&'static str], usize)> {
    SYNONYMS.iter().find_map(|group| {
        group.iter().find_map(|member| {
            let parts: Vec<&str> = member.split(' ').collect();
            (parts.len() > 1 && words.len() >= parts.len() && words[..parts.len()] == parts[..])
                .then_some((*group, parts.len()))
        })
    })
}

#[derive(QueryableByName)]
struct Suggested {
    #[diesel(sql_type = Text)]
    word: String,
}

/// The dictionary word most like `word` (trigram similarity), if any is
/// alike enough.
const NEAREST: &str = "\
SELECT s.word::text AS word FROM search_words s
WHERE s.agents > 0 AND s.word % (@word::text COLLATE \"C\")
ORDER BY similarity(s.word, @word::text COLLATE \"C\") DESC, s.agents DESC, s.word
LIMIT 1";

struct NearestParams<'a> {
    word: &'a str,
}

impl Params for NearestParams<'_> {
    fn bind<'b>(&'b self, name: &str, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match name {
            "word" => out.push_bind_param::<Text, _>(self.word),
            other => Err(sql::unknown(other)),
        }
    }
}

/// "Did you mean": the query with each word the dictionary does not know
/// replaced by the known word most like it; `None` when nothing changes.
pub(super) async fn suggestion(
    conn: &mut AsyncPgConnection,
    meaning: &Meaning,
) -> Result<Option<String>, ServiceError> {
    let mut changed = false;
    let mut words = Vec::new();
    for unit in &meaning.units {
        let known = unit.stop
            || unit.known
            || !unit.typos.is_empty()
            || unit.exact.iter().any(|phrase| *phrase != unit.words);
        if !known && let [word] = unit.words.as_slice() {
            let nearest: Option<Suggested> = Statement {
                text: NEAREST,
                params: NearestParams { word },
            }
            .get_result(conn)
            .await
            .map(Some)
            .or_else(|error| match error {
                diesel::result::Error::NotFound => Ok(None),
                error => Err(error),
            })?;
            if let Some(nearest) = nearest
                && nearest.word != *word
            {
                changed = true;
                words.push(nearest.word);
                continue;
            }
        }
        words.extend(unit.words.iter().cloned());
    }
    Ok(changed.then(|| words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(n: i32, word: &str, found: Option<&str>, how: &str) -> Found {
        Found {
            n,
            word: word.to_owned(),
            found: found.map(str::to_owned),
            how: how.to_owned(),
        }
    }

    #[test]
    fn distance_counts_each_kind_of_typo_once() {
        assert_eq!(distance("sales", "sales"), 0);
        assert_eq!(distance("slaes", "sales"), 1, "two letters swapped");
        assert_eq!(distance("marketng", "marketing"), 1, "a letter left out");
        assert_eq!(distance("contnet", "content"), 1);
        assert_eq!(distance("socail", "social"), 1);
        assert_eq!(distance("salse", "sales"), 1);
        assert_eq!(distance("sxles", "sales"), 1, "a letter replaced");
        assert_eq!(distance("saless", "sales"), 1, "a letter added");
        assert_eq!(distance("manger", "mapper"), 2);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("ca", "abc"), 3, "a swap is not edited again");
        assert_eq!(distance("café", "cafe"), 1, "letters, not bytes");
    }

    #[test]
    fn budgets_follow_the_word_length() {
        assert_eq!(typo_budget(4), 0);
        assert_eq!(typo_budget(5), 1);
        assert_eq!(typo_budget(8), 1);
        assert_eq!(typo_budget(9), 2);
    }

    #[test]
    fn typos_are_kept_within_budget_and_the_last_word_completes() {
        let rows = [
            found(1, "slaes", None, "word"),
            found(2, "mana", None, "word"),
            found(1, "slaes", Some("sales"), "near"),
            found(1, "slaes", Some("salsa"), "near"),
            found(2, "mana", Some("manager"), "prefix"),
            found(2, "mana", Some("manual"), "prefix"),
        ];
        let typed = meaning(&rows, true);
        assert_eq!(typed.units.len(), 2);
        assert_eq!(typed.units[0].typos, vec!["sales".to_owned()]);
        assert!(!typed.units[0].prefix);
        assert!(typed.units[1].prefix);
        assert_eq!(
            typed.units[1].exact,
            vec![
                vec!["mana".to_owned()],
                vec!["manager".into()],
                vec!["manual".into()]
            ]
        );
        assert_eq!(typed.units[0].tsquery(true, false), "('slaes' | 'sales')");
        assert_eq!(
            typed.units[1].tsquery(false, true),
            "('mana':*A | 'manager':A | 'manual':A)"
        );
        // Typed to the end (a space after it): no completions.
        assert_eq!(meaning(&rows, false).units[1].exact.len(), 1);
    }

    #[test]
    fn synonyms_and_phrases_are_one_unit() {
        let rows = [
            found(1, "search", None, "word"),
            found(2, "engine", None, "word"),
            found(3, "email", None, "word"),
            found(4, "for", None, "stop"),
        ];
        let understood = meaning(&rows, false);
        let words: Vec<&Vec<String>> = understood.units.iter().map(|unit| &unit.words).collect();
        assert_eq!(
            words,
            [
                &vec!["search".to_owned(), "engine".into()],
                &vec!["email".to_owned()],
                &vec!["for".to_owned()]
            ]
        );
        assert_eq!(
            understood.units[0].tsquery(false, false),
            "(('search' <-> 'engine') | 'seo')"
        );
        assert_eq!(
            understood.units[1].tsquery(false, false),
            "('email' | 'mail')"
        );
        assert!(understood.units[2].stop);
        assert_eq!(understood.searched().count(), 2);
    }

    #[test]
    fn a_stop_word_being_typed_is_searched_for_what_it_may_become() {
        let rows = [
            found(1, "s", None, "stop"),
            found(1, "s", Some("sales"), "prefix"),
        ];
        let typing = meaning(&rows, true);
        assert!(!typing.units[0].stop);
        assert_eq!(typing.units[0].exact, vec![vec!["sales".to_owned()]]);
        assert!(!typing.units[0].prefix, "\"s\" itself is not searched");
        assert_eq!(typing.units[0].tsquery(true, false), "('sales')");
        // Typed to the end, or completing to nothing: a stop word.
        assert!(meaning(&rows, false).units[0].stop);
        assert!(meaning(&rows[..1], true).units[0].stop);
    }

    #[test]
    fn quotes_in_a_word_stay_inside_its_lexeme() {
        let unit = Unit {
            words: vec!["o'neil".into()],
            exact: vec![vec!["o'neil\\".into()]],
            ..Unit::default()
        };
        assert_eq!(unit.tsquery(false, false), "('o''neil\\\\')");
    }
}
