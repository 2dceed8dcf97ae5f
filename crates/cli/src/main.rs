//! The `quarry` command-line tool: ingest, generate, inspect and maintain a quarry data directory.
//!
//! Every command works through the `quarry` facade crate only, as an embedding service would.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use quarry::{Engine, EngineStats, Format, IngestReport, TeamId};
use quarry_testkit::{Generator, GeneratorConfig};

mod serve;

#[global_allocator]
static GLOBAL: quarry_alloc::Allocator = quarry_alloc::Allocator;

#[derive(Parser, Debug)]
#[command(
    name = "quarry",
    version,
    about = "An embeddable logs engine over plain Parquet"
)]
struct Cli {
    /// Data directory.
    #[arg(long, global = true, default_value = "./quarry-data")]
    data: PathBuf,
    /// Team (tenant) id.
    #[arg(long, global = true, default_value_t = 1)]
    team: u32,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Ingest log files (or `-` for stdin); flushes to Parquet before returning.
    ///
    /// The import is acknowledged by its exit: status 0 means every accepted row is in fsynced Parquet files
    /// committed to the catalog. Regular files are loaded without the write-ahead log by default: an interrupted
    /// import keeps the files it had flushed and loses the rows still in memory (import again into a fresh
    /// directory, or the flushed rows are stored twice). Standard input and other streams (pipes, FIFOs) are
    /// logged chunk by chunk (up to 8 MiB each), so a stream that runs for hours keeps what it has read.
    /// `--wal`/`--no-wal` override.
    Ingest {
        /// Input format.
        #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
        format: InputFormat,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Log every chunk in the write-ahead log (fsynced) before taking the next (default for stdin and pipes).
        #[arg(long, conflicts_with = "no_wal")]
        wal: bool,
        /// Do not use the write-ahead log (default for regular files).
        #[arg(long)]
        no_wal: bool,
        /// Files to ingest; `-` reads stdin.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Generate realistic logs with the deterministic test generator.
    Gen {
        /// Rows to generate.
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = GenFormat::Jsonl)]
        format: GenFormat,
        /// First timestamp (RFC 3339); default 2026-11-01T00:00:00Z.
        #[arg(long)]
        start: Option<String>,
        /// Hours the rows span.
        #[arg(long, default_value_t = 24)]
        hours: u32,
        /// Output file (`-` for stdout).
        #[arg(long)]
        out: PathBuf,
    },
    /// Partitions, files, rows, bytes on disk, bytes per row and compression ratio.
    Stats {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Merge small files of each hour partition.
    Compact {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drop hour partitions older than the team's retention.
    Retention {
        /// Set the team's retention to this many days first.
        #[arg(long)]
        days: Option<u32>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Answer a logs endpoint and print exactly its response JSON (export: the file, to stdout or --out).
    Logs {
        /// The endpoint.
        #[arg(value_enum)]
        endpoint: LogsEndpoint,
        /// The instant relative dates resolve against (RFC 3339); default: the current time.
        #[arg(long)]
        now: Option<String>,
        /// POST endpoints: the whole `{"query": {...}}` body as JSON, or `@FILE`.
        #[arg(long)]
        body: Option<String>,
        /// GET endpoints: one `key=value` parameter (repeatable); dateRange, serviceNames and filterGroup are JSON.
        #[arg(long = "param")]
        params: Vec<String>,
        /// Add `quarry_stats` (path taken, files and rows read, time) to the response.
        #[arg(long)]
        explain: bool,
        /// Answer without indexes and rollups (the plain scan; same answers, slower).
        #[arg(long)]
        no_index: bool,
        /// export: write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Serve PostHog's logs API and OTLP/HTTP ingest (`/v1/logs`) over HTTP until SIGTERM or ctrl-c.
    Serve {
        /// Address to listen on (4318 is OTLP/HTTP's port, so SDKs find it by default).
        #[arg(long, default_value = "127.0.0.1:4318")]
        listen: std::net::SocketAddr,
        /// `TOKEN=TEAM`: a token and the team it reads and writes (repeatable). Without any token the server
        /// is open, which is allowed only on a loopback address.
        #[arg(long = "token")]
        tokens: Vec<String>,
        /// A file of `TOKEN=TEAM` lines (`#` comments).
        #[arg(long)]
        tokens_file: Option<PathBuf>,
        /// Largest request body in bytes (413 above).
        #[arg(long, default_value_t = 32 << 20)]
        max_body_bytes: usize,
    },
    /// The main job for now: generate logs, ingest them into a fresh data directory, print stats.
    Demo {
        /// Rows to generate.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum InputFormat {
    Auto,
    Jsonl,
    OtlpJson,
    OtlpProto,
}

impl From<InputFormat> for Format {
    fn from(f: InputFormat) -> Format {
        match f {
            InputFormat::Auto => Format::Auto,
            InputFormat::Jsonl => Format::JsonLines,
            InputFormat::OtlpJson => Format::OtlpJson,
            InputFormat::OtlpProto => Format::OtlpProto,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogsEndpoint {
    Query,
    Count,
    CountRanges,
    Sparkline,
    Services,
    Values,
    Attributes,
    HasLogs,
    Export,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum GenFormat {
    Jsonl,
    OtlpJson,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let team = TeamId(cli.team);
    match cli.command {
        Command::Ingest {
            format,
            json,
            wal,
            no_wal,
            files,
        } => {
            // An import frees a flush's rows and needs as much memory again right after: keep it in the process.
            // (First, before any thread exists: see `keep_freed_memory`.)
            quarry_alloc::keep_freed_memory();
            // Standard input, and anything else that is not a regular file (a FIFO, `/dev/stdin`, `<(tail -f …)`),
            // may be a stream that never ends: logged unless told otherwise.
            let reads_stream = files
                .iter()
                .any(|f| f == Path::new("-") || !std::fs::metadata(f).is_ok_and(|m| m.is_file()));
            let logged = wal || (reads_stream && !no_wal);
            let durability = if logged {
                quarry::Durability::Sync
            } else {
                quarry::Durability::Unlogged
            };
            let engine = Engine::builder(&cli.data)
                .with_durability(durability)
                .open()
                .with_context(|| format!("opening data directory {}", cli.data.display()))?;
            let summary = ingest_files(&engine, team, format.into(), &files, logged)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
            } else {
                summary.print();
            }
        }
        Command::Gen {
            rows,
            seed,
            format,
            start,
            hours,
            out,
        } => {
            let mut config = GeneratorConfig {
                seed,
                rows,
                span: i64::from(hours.max(1)) * 3_600_000_000_000,
                ..Default::default()
            };
            if let Some(start) = start {
                config.start = chrono_parse(&start)
                    .with_context(|| format!("--start: expected RFC 3339, got {start:?}"))?;
            }
            let sink: Box<dyn Write> = if out == Path::new("-") {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(File::create(&out).with_context(|| format!("creating {}", out.display()))?)
            };
            let mut sink = BufWriter::with_capacity(1 << 20, sink);
            let started = Instant::now();
            let n = match format {
                GenFormat::Jsonl => quarry_testkit::write_jsonl(Generator::new(config), &mut sink)?,
                GenFormat::OtlpJson => {
                    quarry_testkit::write_otlp_json(Generator::new(config), 1000, &mut sink)?
                }
            };
            sink.flush()?;
            eprintln!("generated {n} rows in {:.2?}", started.elapsed());
        }
        Command::Stats { json } => {
            let engine = open(&cli.data)?;
            print_stats(&engine.stats()?, json)?;
        }
        Command::Compact { json } => {
            let engine = open(&cli.data)?;
            engine.flush()?;
            let r = engine.compact()?;
            let v = serde_json::json!({"partitions": r.partitions, "files_removed": r.files_removed,
                "files_written": r.files_written, "rows": r.rows});
            if json {
                println!("{v}");
            } else {
                println!(
                    "compacted {} partitions: {} files merged into {}, {} rows",
                    r.partitions, r.files_removed, r.files_written, r.rows
                );
            }
        }
        Command::Retention { days, json } => {
            let engine = open(&cli.data)?;
            if let Some(days) = days {
                engine.set_retention_days(team, days)?;
            }
            let r = engine.retention()?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"partitions": r.partitions, "files": r.files, "rows": r.rows})
                );
            } else {
                println!(
                    "dropped {} partitions ({} files, {} rows)",
                    r.partitions, r.files, r.rows
                );
            }
        }
        Command::Logs {
            endpoint,
            now,
            body,
            params,
            explain,
            no_index,
            out,
        } => {
            let request = LogsRequest {
                endpoint,
                now,
                body,
                params,
                explain,
                no_index,
                out,
            };
            logs(&cli.data, team, request)?;
        }
        Command::Serve {
            listen,
            tokens,
            tokens_file,
            max_body_bytes,
        } => serve::serve(
            &cli.data,
            serve::ServeArgs {
                listen,
                tokens,
                tokens_file,
                max_body_bytes,
            },
        )?,
        Command::Demo { rows, seed } => {
            quarry_alloc::keep_freed_memory();
            demo(&cli.data, team, rows, seed)?
        }
    }
    Ok(())
}

fn chrono_parse(s: &str) -> Option<i64> {
    // Reuse the decoder's timestamp rule by decoding a one-field record.
    let line = serde_json::json!({ "timestamp": s }).to_string();
    let decoded = quarry_core::decode(Format::JsonLines, line.as_bytes()).ok()?;
    decoded.logs.first()?.timestamp
}

struct LogsRequest {
    endpoint: LogsEndpoint,
    now: Option<String>,
    body: Option<String>,
    params: Vec<String>,
    explain: bool,
    no_index: bool,
    out: Option<PathBuf>,
}

fn logs(dir: &Path, team: TeamId, r: LogsRequest) -> Result<()> {
    let mut builder = Engine::builder(dir).with_background_flush(false);
    if r.no_index {
        builder = builder.with_plan_options(quarry::PlanOptions::naive());
    }
    let engine = builder
        .open()
        .with_context(|| format!("opening data directory {}", dir.display()))?;
    let mut ctx = engine.context(team);
    if let Some(now) = &r.now {
        ctx.now = quarry_core::time::parse_iso(now)
            .with_context(|| format!("--now: expected an RFC 3339 date-time, got {now:?}"))?;
    }
    let is_get = matches!(
        r.endpoint,
        LogsEndpoint::Values | LogsEndpoint::Attributes | LogsEndpoint::HasLogs
    );
    let mut body: serde_json::Value = match (&r.body, is_get) {
        (Some(_), true) => bail!("--body: this endpoint is a GET; pass --param key=value instead"),
        (None, _) => serde_json::json!({"query": {}}),
        (Some(text), false) => {
            let text = match text.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("--body: reading {path}"))?,
                None => text.clone(),
            };
            serde_json::from_str(&text).context("--body: expected JSON")?
        }
    };
    if !r.params.is_empty() && !is_get {
        bail!("--param: this endpoint is a POST; pass the request as --body instead");
    }
    let mut params = Vec::new();
    for p in &r.params {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("--param: expected key=value, got {p:?}"))?;
        params.push((k.to_owned(), v.to_owned()));
    }
    if r.explain {
        params.push(("explain".into(), "true".into()));
        if let Some(q) = body.get_mut("query").and_then(|q| q.as_object_mut()) {
            q.insert("explain".into(), true.into());
        }
    }
    let json = match r.endpoint {
        LogsEndpoint::Query => serde_json::to_string(&engine.query(&ctx, &body)?)?,
        LogsEndpoint::Count => serde_json::to_string(&engine.count(&ctx, &body)?)?,
        LogsEndpoint::CountRanges => serde_json::to_string(&engine.count_ranges(&ctx, &body)?)?,
        LogsEndpoint::Sparkline => serde_json::to_string(&engine.sparkline(&ctx, &body)?)?,
        LogsEndpoint::Services => serde_json::to_string(&engine.services(&ctx, &body)?)?,
        LogsEndpoint::Values => serde_json::to_string(&engine.values(&ctx, &params)?)?,
        LogsEndpoint::Attributes => serde_json::to_string(&engine.attributes(&ctx, &params)?)?,
        LogsEndpoint::HasLogs => serde_json::to_string(&engine.has_logs(&ctx))?,
        LogsEndpoint::Export => {
            let report = match &r.out {
                Some(path) => {
                    let f = File::create(path)
                        .with_context(|| format!("--out: creating {}", path.display()))?;
                    let mut w = BufWriter::new(f);
                    let report = engine.export(&ctx, &body, &mut w)?;
                    w.flush()?;
                    report
                }
                None => {
                    let mut w = BufWriter::new(std::io::stdout());
                    let report = engine.export(&ctx, &body, &mut w)?;
                    w.flush()?;
                    report
                }
            };
            eprintln!("exported {} rows ({})", report.rows, report.filename);
            return Ok(());
        }
    };
    println!("{json}");
    Ok(())
}

fn open(dir: &Path) -> Result<Engine> {
    Engine::builder(dir)
        .open()
        .with_context(|| format!("opening data directory {}", dir.display()))
}

struct Summary {
    report: IngestReport,
    files_written: usize,
    elapsed: Duration,
    bytes: u64,
    /// Whether every chunk went through the WAL.
    logged: bool,
}

impl Summary {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "accepted": self.report.accepted,
            "rejected": self.report.rejected,
            "errors": self.report.errors.iter().map(|e| serde_json::json!({
                "index": e.index, "field": e.field, "reason": e.reason})).collect::<Vec<_>>(),
            "files_written": self.files_written,
            "input_bytes": self.bytes,
            "seconds": self.elapsed.as_secs_f64(),
            "wal": self.logged,
        })
    }

    fn print(&self) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        println!(
            "accepted {} rows, rejected {}, wrote {} files in {:.2}s ({:.0} rows/s)",
            self.report.accepted,
            self.report.rejected,
            self.files_written,
            secs,
            self.report.accepted as f64 / secs
        );
        for e in self.report.errors.iter().take(10) {
            println!("  rejected {e}");
        }
        if self.report.rejected > 10 {
            println!("  … and {} more", self.report.rejected - 10);
        }
    }
}

/// Input is decoded and ingested in chunks of about this many bytes, cut at line ends.
const CHUNK: usize = 8 << 20;

/// A line longer than a chunk is read whole up to this length; beyond it, it is cut (and its pieces rejected), so
/// a file without line ends cannot take all memory.
const MAX_LINE: usize = 256 << 20;

/// One chunk of input, decoded: what the reading thread hands to the ingesting one.
struct DecodedChunk {
    /// The file it came from (`-`: standard input).
    path: PathBuf,
    decoded: quarry::Decoded,
    /// Input lines before this chunk (for line-oriented input), to number its rejections in the whole file.
    line_base: Option<usize>,
    bytes: u64,
}

/// Ingests `files` into `engine` and flushes; `logged` (whether the engine logs appends in its WAL) is reported.
fn ingest_files(
    engine: &Engine,
    team: TeamId,
    format: Format,
    files: &[PathBuf],
    logged: bool,
) -> Result<Summary> {
    let started = Instant::now();
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template"),
    );
    let files_before = engine.stats()?.storage.files;
    let mut report = IngestReport::default();
    let mut bytes = 0u64;
    // Reading and decoding run a chunk ahead of ingesting (stamping, the WAL write and its sync, the memtable):
    // the next chunk decodes while this one waits for its sync, on one core as on several. One chunk waits
    // between them at most, so memory stays a few chunks. The reader is not joined when ingesting fails: it may
    // be blocked reading a pipe that stays open (`tail -f … | quarry ingest -`), and the error must not wait
    // for more input; the process ends with it.
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<DecodedChunk>>(1);
    let paths = files.to_vec();
    let reader = std::thread::Builder::new()
        .name("quarry-read".into())
        .spawn(move || {
            if let Err(e) = read_and_decode(format, &paths, &sender) {
                // The receiver is gone only when ingesting failed; its error is the one reported.
                let _ = sender.send(Err(e));
            }
        })
        .context("starting the reading thread")?;
    for chunk in receiver {
        let DecodedChunk {
            path,
            decoded,
            line_base,
            bytes: chunk_bytes,
        } = chunk?;
        let mut r = engine
            .ingest_decoded(team, decoded)
            .with_context(|| format!("ingesting {}", path.display()))?;
        if let Some(base) = line_base {
            for e in &mut r.errors {
                e.index += base;
            }
        }
        report.merge(r);
        bytes += chunk_bytes;
        bar.inc(chunk_bytes);
    }
    // Every chunk was received, so the reader has returned.
    if reader.join().is_err() {
        bail!("the reading thread panicked");
    }
    engine.flush()?;
    bar.finish_and_clear();
    // Background flushes may have written files too; count them all.
    let files_written = engine.stats()?.storage.files.saturating_sub(files_before);
    Ok(Summary {
        report,
        files_written,
        elapsed: started.elapsed(),
        bytes,
        logged,
    })
}

/// Reads `files` in chunks cut at line ends (or whole, for input that is not line-oriented), decodes each chunk
/// and sends it. Returns early, without error, when the receiver is gone.
fn read_and_decode(
    format: Format,
    files: &[PathBuf],
    sender: &std::sync::mpsc::SyncSender<Result<DecodedChunk>>,
) -> Result<()> {
    for path in files {
        let mut reader: Box<dyn Read> = if path == Path::new("-") {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?)
        };
        let mut head = Vec::new();
        (&mut reader)
            .take(64 << 10)
            .read_to_end(&mut head)
            .with_context(|| format!("reading {}", path.display()))?;
        let format = if format == Format::Auto {
            Format::detect(&head)
        } else {
            format
        };
        let line_oriented = match format {
            Format::JsonLines => true,
            // One request per line streams; a pretty-printed document must be read whole.
            Format::OtlpJson => head.split(|&b| b == b'\n').next().is_some_and(|first| {
                serde_json::from_slice::<serde::de::IgnoredAny>(first).is_ok()
            }),
            _ => false,
        };
        // One buffer for the whole file: the unfinished last line of a chunk moves to its front and the next
        // chunk is read behind it. A fresh buffer per chunk would be fresh memory the kernel zeroes each time.
        let mut buf = head;
        buf.reserve(CHUNK.saturating_sub(buf.len()));
        let mut line_base = 0usize;
        // The bytes to hold before cutting: a chunk, or more while one line does not fit.
        let mut fill = CHUNK;
        loop {
            let mut eof = false;
            if buf.len() < fill {
                let want = if line_oriented {
                    fill - buf.len()
                } else {
                    usize::MAX
                };
                let n = (&mut reader)
                    .take(want as u64)
                    .read_to_end(&mut buf)
                    .with_context(|| format!("reading {}", path.display()))?;
                eof = n == 0 || !line_oriented;
            }
            if buf.is_empty() {
                break;
            }
            let cut = if eof || !line_oriented {
                buf.len()
            } else {
                match memchr::memrchr(b'\n', &buf) {
                    Some(i) => i + 1,
                    None if fill < MAX_LINE => {
                        // One line longer than the buffer: read on until its end.
                        fill = (fill * 2).min(MAX_LINE);
                        continue;
                    }
                    None => buf.len(),
                }
            };
            fill = CHUNK;
            let decoded = quarry::decode(format, &buf[..cut])
                .with_context(|| format!("decoding {}", path.display()))?;
            let chunk = DecodedChunk {
                path: path.clone(),
                decoded,
                line_base: line_oriented.then_some(line_base),
                bytes: cut as u64,
            };
            if sender.send(Ok(chunk)).is_err() {
                return Ok(());
            }
            if line_oriented {
                line_base += memchr::memchr_iter(b'\n', &buf[..cut]).count();
            }
            buf.copy_within(cut.., 0);
            buf.truncate(buf.len() - cut);
            if eof && buf.is_empty() {
                break;
            }
        }
    }
    Ok(())
}

fn print_stats(stats: &EngineStats, json: bool) -> Result<()> {
    let s = &stats.storage;
    if json {
        let v = serde_json::json!({
            "teams": s.teams,
            "partitions": s.partitions,
            "files": s.files,
            "rows": s.file_rows,
            "memtable_rows": s.memtable_rows,
            "parquet_bytes": s.parquet_bytes,
            "index_bytes": s.index_bytes,
            "bytes_on_disk": s.parquet_bytes + s.index_bytes,
            "raw_bytes": s.raw_bytes,
            "bytes_per_row": stats.bytes_per_row(),
            "compression_ratio": stats.compression_ratio(),
            "wal_segments": s.wal_segments,
            "wal_bytes": s.wal_bytes,
            "catalog_version": s.version,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("teams              {}", s.teams);
        println!("partitions         {}", s.partitions);
        println!("files              {}", s.files);
        println!(
            "rows               {} (+{} in memtable)",
            s.file_rows, s.memtable_rows
        );
        println!("parquet bytes      {}", s.parquet_bytes);
        println!("index bytes        {}", s.index_bytes);
        println!("bytes per row      {:.1}", stats.bytes_per_row());
        println!(
            "compression ratio  {:.1}x (uncompressed log bytes / bytes on disk)",
            stats.compression_ratio()
        );
        println!(
            "wal                {} segments, {} bytes",
            s.wal_segments, s.wal_bytes
        );
    }
    Ok(())
}

fn demo(data: &Path, team: TeamId, rows: u64, seed: u64) -> Result<()> {
    if data.join("catalog.sqlite").exists() {
        bail!(
            "{} already holds a quarry data directory; the demo needs a fresh one (pass --data)",
            data.display()
        );
    }
    let engine = open(data)?;
    let config = GeneratorConfig {
        seed,
        rows,
        ..Default::default()
    };
    println!(
        "generating and ingesting {rows} rows into {} …",
        data.display()
    );
    let started = Instant::now();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(rows)
    } else {
        ProgressBar::hidden()
    };
    let mut generator = Generator::new(config);
    loop {
        let batch: Vec<_> = generator.by_ref().take(50_000).collect();
        if batch.is_empty() {
            break;
        }
        bar.inc(batch.len() as u64);
        engine.ingest(team, batch)?;
    }
    engine.flush()?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    // Counted from the catalog: background flushes wrote files too.
    let files_written = engine.stats()?.storage.files;
    println!(
        "ingested {rows} rows in {secs:.2}s ({:.0} rows/s), {} files written",
        rows as f64 / secs,
        files_written
    );
    print_stats(&engine.stats()?, false)?;
    show_logs_ui(&engine, team, config_end(seed, rows))
}

/// The end of the generated data (the generator's default start plus its 24-hour span): the demo's "now".
fn config_end(seed: u64, rows: u64) -> i64 {
    let c = GeneratorConfig {
        seed,
        rows,
        ..Default::default()
    };
    c.start + c.span
}

/// What a logs UI shows first, answered by the engine, with the time each request took.
fn show_logs_ui(engine: &Engine, team: TeamId, now: i64) -> Result<()> {
    use serde_json::json;
    let ctx = quarry::RequestContext { team, now };
    let day = json!({"date_from": "-24h"});
    let timed = |label: &str, started: Instant| {
        println!(
            "\n{label}  ({:.2} ms)",
            started.elapsed().as_secs_f64() * 1e3
        );
    };

    let started = Instant::now();
    let services = engine.services(&ctx, &json!({"query": {"dateRange": day}}))?;
    timed("services, last 24 h", started);
    println!(
        "  {:<22} {:>9} {:>8} {:>7} {:>7}",
        "service", "logs", "errors", "rate", "share"
    );
    for s in services.services.iter().take(10) {
        println!(
            "  {:<22} {:>9} {:>8} {:>6.2}% {:>6.2}%",
            s.service_name,
            s.log_count,
            s.error_count,
            100.0 * s.error_rate,
            s.volume_share_pct
        );
    }
    println!(
        "  … {} services; the top {} carry {:.2}% of the volume",
        services.total_services,
        services.summary.top_services_count,
        services.summary.top_services_volume_share_pct
    );

    let started = Instant::now();
    let spark = engine.sparkline(&ctx, &json!({"query": {"dateRange": day}}))?;
    timed("sparkline by severity, last 24 h (50 buckets)", started);
    let mut series: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
        Default::default();
    let mut times = std::collections::BTreeSet::new();
    for p in &spark.points {
        let t = p["time"].as_str().unwrap_or_default().to_owned();
        times.insert(t.clone());
        let sev = p["severity"].as_str().unwrap_or_default().to_owned();
        if sev != "(no value)" {
            *series.entry(sev).or_default().entry(t).or_default() +=
                p["count"].as_u64().unwrap_or(0);
        }
    }
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    for (sev, points) in &series {
        let max = points.values().copied().max().unwrap_or(0).max(1);
        let line: String = times
            .iter()
            .map(|t| match points.get(t).copied().unwrap_or(0) {
                0 => ' ',
                n => BARS[((n * 7) / max) as usize],
            })
            .collect();
        println!("  {sev:<6} {line} max {max}/bucket");
    }

    let started = Instant::now();
    let errors = engine.query(
        &ctx,
        &json!({"query": {"dateRange": day, "severityLevels": ["error", "fatal"], "limit": 5}}),
    )?;
    timed("newest errors", started);
    for r in &errors.results {
        let body = r["body"].as_str().unwrap_or_default();
        let body: String = body.chars().take(70).collect();
        println!(
            "  {}  {:<18} {}",
            r["timestamp"].as_str().unwrap_or_default(),
            r["resource_attributes"]["service.name"]
                .as_str()
                .unwrap_or_default(),
            body
        );
    }

    let started = Instant::now();
    let ranges = engine.count_ranges(
        &ctx,
        &json!({"query": {"dateRange": day, "targetBuckets": 6}}),
    )?;
    timed(
        &format!("count ranges, last 24 h ({} buckets)", ranges.interval),
        started,
    );
    for r in &ranges.ranges {
        println!("  {} → {}  {:>9}", r.date_from, r.date_to, r.count);
    }
    let started = Instant::now();
    let count = engine.count(&ctx, &json!({"query": {"dateRange": day}}))?;
    timed(&format!("count, last 24 h: {}", count.count), started);
    Ok(())
}
