//! The `key=value,...` grammar of `sasl.oauthbearer.config` and
//! `sasl.oauthbearer.extensions`, and its inverse ([`escape_value`]).
//!
//! The grammar is librdkafka's (`rd_string_split` + `rd_kafka_conf_kv_split`),
//! which confluent-kafka-python's AWS parser follows too.

use crate::error::{Error, Result};

/// ASCII `isspace` as librdkafka uses it (space, \t, \n, \v, \f, \r).
pub(crate) fn is_c_space(c: char) -> bool {
    c == ' ' || ('\t'..='\r').contains(&c)
}

/// librdkafka's `rd_string_split` with `skip_empty`: `\` escapes the next
/// character (`\t \n \r \0` map to control characters), unescaped leading
/// whitespace is dropped, trailing whitespace is always dropped.
fn split_fields(raw: &str, sep: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut escaped = false;
    let finish = |field: &mut String, fields: &mut Vec<String>| {
        let trimmed_len = field.trim_end_matches(is_c_space).len();
        field.truncate(trimmed_len);
        if !field.is_empty() {
            fields.push(std::mem::take(field));
        }
    };
    for c in raw.chars() {
        if escaped {
            escaped = false;
            field.push(match c {
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                '0' => '\0',
                other => other,
            });
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            finish(&mut field, &mut fields);
        } else if field.is_empty() && is_c_space(c) {
            // leading unescaped whitespace
        } else {
            field.push(c);
        }
    }
    finish(&mut field, &mut fields);
    fields
}

/// Splits into fields and each field on its first `=`; a field without `=`
/// or with an empty key is an error. Duplicate keys are returned in order
/// (callers let the last win).
pub(crate) fn parse_key_values(raw: &str, what: &str) -> Result<Vec<(String, String)>> {
    split_fields(raw, ',')
        .into_iter()
        .map(|field| match field.find('=') {
            Some(eq) if eq > 0 => Ok((field[..eq].to_string(), field[eq + 1..].to_string())),
            _ => Err(Error::config(format!(
                "{what}: malformed entry {:?} (expected key=value).",
                field.split('=').next().unwrap_or("")
            ))),
        })
        .collect()
}

/// Escapes `value` so that the grammar reads it back unchanged: `\` and `,`
/// get a backslash, tab / newline / CR are written `\t` `\n` `\r`, and a
/// leading whitespace character is escaped so it is not trimmed.
///
/// What the grammar cannot carry: trailing whitespace (always trimmed, as
/// librdkafka does, escaped or not) and an empty value.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' | ',' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // \v and \f have no mnemonic; `\` + the character keeps them.
            c if i == 0 && is_c_space(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Joins `key=value` pairs into a config string, escaping each value with
/// [`escape_value`], keys included (a `tag_<name>` may need it).
pub fn config_string<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    pairs
        .into_iter()
        // Keys are escaped too: a tag name may hold ',' or '\\' (Confluent's
        // grammar accepts any tag_<name>). A '=' in a key cannot be written:
        // the grammar splits a field at its first '=', escaped or not.
        .map(|(k, v)| format!("{}={}", escape_value(k.as_ref()), escape_value(v.as_ref())))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_string_escapes_keys_too() {
        // Found by the config fuzz target: a tag name with a comma.
        let c = crate::Config::parse("region=r,audience=a,tag_a\\,b=v", "").unwrap();
        let again = crate::Config::parse(&config_string(c.effective()), "").unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn fields_split_like_librdkafka() {
        let kv = parse_key_values(" a=1 ,,b=x\\,y=z , c=\\ q\\t", "k").unwrap();
        assert_eq!(
            kv,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x,y=z".into()),
                ("c".into(), " q".into()),
            ]
        );
        assert!(parse_key_values("novalue", "k").is_err());
        assert!(parse_key_values("=x", "k").is_err());
    }

    #[test]
    fn escape_value_writes_control_characters_as_mnemonics() {
        assert_eq!(escape_value("a,b\\c"), "a\\,b\\\\c");
        assert_eq!(escape_value("\tx\ny\r"), "\\tx\\ny\\r");
        assert_eq!(escape_value(" x"), "\\ x");
        assert_eq!(escape_value("x y"), "x y");
        assert_eq!(
            config_string([("region", "r"), ("audience", "a,b")]),
            "region=r,audience=a\\,b"
        );
    }
}
