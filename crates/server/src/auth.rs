//! Tokens: which secret maps to which team, and how a request carries one.
//!
//! Tokens file grammar (`quarry serve --tokens-file`):
//!
//! ```text
//! file    = { line "\n" }
//! line    = blank | comment | entry
//! comment = [ spaces ] "#" { any }
//! entry   = [ spaces ] token "=" team [ spaces ]
//! token   = 1*( any but "=", whitespace )          ; a secret, at least 16 bytes is wise
//! team    = decimal u32
//! ```

use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, header};
use quarry::TeamId;
use subtle::ConstantTimeEq;

/// Errors of reading tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokensError {
    /// A `TOKEN=TEAM` specification is malformed.
    #[error("token {spec_hint}: {reason}")]
    Invalid {
        /// Where: `line N of FILE`, or `argument N`.
        spec_hint: String,
        /// What is wrong.
        reason: String,
    },
    /// The tokens file could not be read.
    #[error("tokens file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Tokens and their teams. `Debug` never prints a token.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<(Vec<u8>, TeamId)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.entries.len())
            .finish()
    }
}

impl Tokens {
    /// No tokens: the server is open.
    pub fn new() -> Tokens {
        Tokens::default()
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `TOKEN=TEAM`; `hint` says where it came from, for the error.
    pub fn add_spec(&mut self, spec: &str, hint: &str) -> Result<(), TokensError> {
        let invalid = |reason: String| TokensError::Invalid {
            spec_hint: hint.to_owned(),
            reason,
        };
        let (token, team) = spec
            .trim()
            .rsplit_once('=')
            .ok_or_else(|| invalid("expected TOKEN=TEAM".into()))?;
        if token.is_empty() || token.chars().any(char::is_whitespace) {
            return Err(invalid(
                "the token must be non-empty and without spaces".into(),
            ));
        }
        let team: u32 = team
            .trim()
            .parse()
            .map_err(|_| invalid(format!("team {team:?} is not a number")))?;
        if let Some((_, other)) = self.entries.iter().find(|(t, _)| t == token.as_bytes())
            && *other != TeamId(team)
        {
            return Err(invalid("the same token is given for two teams".into()));
        }
        self.entries.push((token.as_bytes().to_vec(), TeamId(team)));
        Ok(())
    }

    /// Reads a tokens file (grammar in the module docs).
    pub fn add_file(&mut self, path: &Path) -> Result<(), TokensError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Io {
            path: path.to_owned(),
            source,
        })?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.add_spec(line, &format!("on line {} of {}", i + 1, path.display()))?;
        }
        Ok(())
    }

    /// The team of `token`. Every configured token is compared, each in constant time, so the answer's timing
    /// does not tell how much of a guess was right.
    pub fn team_of(&self, token: &str) -> Option<TeamId> {
        let mut found = None;
        for (t, team) in &self.entries {
            if bool::from(t.as_slice().ct_eq(token.as_bytes())) {
                found = Some(*team);
            }
        }
        found
    }
}

/// The token of a request: `Authorization: Bearer <token>` first, else the `token` query parameter.
pub(crate) fn request_token(headers: &HeaderMap, raw_query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION)
        && let Ok(text) = value.to_str()
        && let Some((scheme, token)) = text.trim().split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
        && !token.trim().is_empty()
    {
        return Some(token.trim().to_owned());
    }
    form_urlencoded::parse(raw_query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_errors_name_the_problem() {
        let mut t = Tokens::new();
        t.add_spec("phc_abc=7", "argument 1").unwrap();
        t.add_spec("phc_abc=7", "argument 2").unwrap();
        assert_eq!(t.team_of("phc_abc"), Some(TeamId(7)));
        assert_eq!(t.team_of("phc_ab"), None);
        assert_eq!(t.team_of(""), None);
        let e = t.add_spec("phc_abc=8", "argument 3").unwrap_err();
        assert!(e.to_string().contains("two teams"), "{e}");
        let e = t.add_spec("nope", "argument 4").unwrap_err();
        assert_eq!(e.to_string(), "token argument 4: expected TOKEN=TEAM");
        let e = t.add_spec("x=seven", "argument 5").unwrap_err();
        assert!(e.to_string().contains("\"seven\" is not a number"), "{e}");
        assert!(!format!("{t:?}").contains("phc_abc"));
    }

    #[test]
    fn bearer_header_wins_over_the_query_parameter() {
        let mut h = HeaderMap::new();
        assert_eq!(
            request_token(&h, Some("a=1&token=q%20t")),
            Some("q t".into())
        );
        h.insert(header::AUTHORIZATION, "bearer  hdr ".parse().unwrap());
        assert_eq!(request_token(&h, Some("token=q")), Some("hdr".into()));
        h.insert(header::AUTHORIZATION, "Basic xyz".parse().unwrap());
        assert_eq!(request_token(&h, None), None);
    }
}
