//! JWKS.
