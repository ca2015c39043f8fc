//! Who may ask for an upload policy: fail closed.

use subtle::ConstantTimeEq as _;

use crate::errors::AppError;
use crate::settings::Writers;

/// Checks the `Authorization` header against who may write. Every wrong or
/// missing token is the same 401, and nothing of the token is ever echoed.
pub fn authorize(writers: &Writers, authorization: Option<&str>) -> Result<(), AppError> {
    match writers {
        Writers::Anyone => Ok(()),
        Writers::Nobody => Err(AppError::WritesNotConfigured),
        Writers::WithToken(token) => {
            let presented = authorization
                .and_then(|value| {
                    let (scheme, credential) = value.trim().split_once(' ')?;
                    scheme
                        .eq_ignore_ascii_case("bearer")
                        .then(|| credential.trim())
                })
                .unwrap_or_default();
            if !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(token.as_bytes())) {
                Ok(())
            } else {
                Err(AppError::Unauthorized)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_without_a_token_or_the_opt_in() {
        assert_eq!(
            authorize(&Writers::Nobody, Some("Bearer anything")),
            Err(AppError::WritesNotConfigured)
        );
    }

    #[test]
    fn only_the_configured_token_opens() {
        let writers = Writers::WithToken("s3cret".into());
        assert_eq!(authorize(&writers, Some("Bearer s3cret")), Ok(()));
        assert_eq!(authorize(&writers, Some("bearer  s3cret ")), Ok(()));
        for wrong in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer s3cre"),
            Some("Basic s3cret"),
        ] {
            assert_eq!(
                authorize(&writers, wrong),
                Err(AppError::Unauthorized),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn the_opt_in_opens_to_anyone() {
        assert_eq!(authorize(&Writers::Anyone, None), Ok(()));
    }
}
