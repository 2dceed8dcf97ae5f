//! `quarry serve`: the HTTP server (quarry-server's router) on a socket, until SIGTERM or ctrl-c.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use quarry::Engine;
use quarry_server::{ServerConfig, Tokens};

/// What `quarry serve` was asked.
pub(crate) struct ServeArgs {
    pub(crate) listen: SocketAddr,
    pub(crate) tokens: Vec<String>,
    pub(crate) tokens_file: Option<PathBuf>,
    pub(crate) max_body_bytes: usize,
}

pub(crate) fn serve(dir: &Path, args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut tokens = Tokens::new();
    for (i, spec) in args.tokens.iter().enumerate() {
        tokens.add_spec(spec, &format!("--token #{}", i + 1))?;
    }
    if let Some(file) = &args.tokens_file {
        tokens.add_file(file)?;
    }
    if tokens.is_empty() {
        if !args.listen.ip().is_loopback() {
            bail!(
                "--listen {}: refusing to serve without tokens on a non-loopback address; \
                 pass --token TOKEN=TEAM or --tokens-file FILE",
                args.listen
            );
        }
        tracing::warn!(
            listen = %args.listen,
            "no tokens configured: every project is open to anyone who can reach this loopback address"
        );
    }
    let engine = Engine::builder(dir)
        .open()
        .with_context(|| format!("opening data directory {}", dir.display()))?;
    let config = ServerConfig {
        tokens,
        max_body_bytes: args.max_body_bytes,
        ..ServerConfig::default()
    };
    let router = quarry_server::router(engine.clone(), config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
        let local = listener.local_addr()?;
        tracing::info!(listen = %local, data = %dir.display(), "quarry serving");
        // The bound address on stdout, for scripts that asked for port 0.
        println!("listening on http://{local}");
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving")
    })?;
    tracing::info!("shutting down: flushing the memtable");
    engine.flush().context("flushing at shutdown")?;
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
