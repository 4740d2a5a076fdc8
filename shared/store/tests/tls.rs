//! TLS to the real PostgreSQL (ssl = on with Debian's snakeoil certificate: self-signed, for
//! the name `localhost`), by sslmode, through both `connect` and `connect_async`.

mod support;

use dripline_store::{ConnectionOptions, SslMode, StoreError};
use std::path::PathBuf;
use support::config_with;

/// The server's own certificate, which is its own root.
const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn options(mode: SslMode) -> ConnectionOptions {
    ConnectionOptions {
        ssl_mode: Some(mode),
        ..Default::default()
    }
}

fn with_root(mode: SslMode, host: &str) -> ConnectionOptions {
    ConnectionOptions {
        host: Some(host.parse().unwrap()),
        ssl_root_cert: Some(PathBuf::from(SNAKEOIL)),
        ..options(mode)
    }
}

const IS_TLS: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

/// Whether the connection made with `options` is encrypted, asked of the server, async.
async fn encrypted(options: ConnectionOptions) -> Result<bool, StoreError> {
    let (client, _task) = dripline_store::connect_async(&config_with(options)).await?;
    let row = client.query_one(IS_TLS, &[]).await.unwrap();
    Ok(row.get(0))
}

/// The same through the synchronous client (what dl-export's set-up and tests use).
fn encrypted_blocking(options: ConnectionOptions) -> Result<bool, StoreError> {
    let config = config_with(options);
    std::thread::spawn(move || {
        let mut client = dripline_store::connect(&config)?;
        Ok(client.query_one(IS_TLS, &[]).unwrap().get(0))
    })
    .join()
    .unwrap()
}

#[tokio::test]
async fn require_and_prefer_encrypt_disable_does_not() {
    assert!(encrypted(options(SslMode::Require)).await.unwrap());
    assert!(encrypted_blocking(options(SslMode::Require)).unwrap());
    assert!(encrypted(options(SslMode::Prefer)).await.unwrap());
    assert!(!encrypted(options(SslMode::Disable)).await.unwrap());
    assert!(!encrypted_blocking(options(SslMode::Disable)).unwrap());
}

#[tokio::test]
async fn sslmode_in_the_url_is_read() {
    let url = format!(
        "{}{}sslmode=require",
        support::pg_url(),
        if support::pg_url().contains('?') {
            "&"
        } else {
            "?"
        }
    );
    let config = dripline_store::ConnectionConfig::resolve_with_env(
        &ConnectionOptions {
            url: Some(url),
            ..Default::default()
        },
        |_| None,
    )
    .unwrap();
    assert_eq!(config.ssl_mode, SslMode::Require);
    let (client, _task) = dripline_store::connect_async(&config).await.unwrap();
    assert!(client
        .query_one(IS_TLS, &[])
        .await
        .unwrap()
        .get::<_, bool>(0));
}

#[tokio::test]
async fn verify_full_refuses_an_unknown_certificate() {
    let error = encrypted(ConnectionOptions {
        host: Some("127.0.0.1".parse().unwrap()),
        ..options(SslMode::VerifyFull)
    })
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Unreachable { .. }), "{error:?}");
    assert!(message.contains("certificate"), "{message}");
    assert!(!message.contains("postgres:postgres"), "{message}");

    let error = encrypted_blocking(ConnectionOptions {
        host: Some("127.0.0.1".parse().unwrap()),
        ..options(SslMode::VerifyFull)
    })
    .unwrap_err();
    assert!(error.to_string().contains("certificate"), "{error}");
}

#[tokio::test]
async fn verify_full_checks_the_name_and_verify_ca_does_not() {
    // Trusted now, but made for `localhost`, not `127.0.0.1`.
    let error = encrypted(with_root(SslMode::VerifyFull, "127.0.0.1"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("certificate"), "{error}");
    assert!(encrypted(with_root(SslMode::VerifyCa, "127.0.0.1"))
        .await
        .unwrap());
    assert!(encrypted(with_root(SslMode::VerifyFull, "localhost"))
        .await
        .unwrap());
    // libpq: require with a root certificate checks the chain.
    assert!(encrypted(with_root(SslMode::Require, "127.0.0.1"))
        .await
        .unwrap());
}

#[tokio::test]
async fn unreadable_root_certificate_is_named() {
    let error = encrypted(ConnectionOptions {
        ssl_root_cert: Some(PathBuf::from("/nonexistent/root.pem")),
        ..options(SslMode::VerifyCa)
    })
    .await
    .unwrap_err();
    assert!(matches!(error, StoreError::Config(_)), "{error:?}");
    assert!(
        error.to_string().contains("/nonexistent/root.pem"),
        "{error}"
    );
}
