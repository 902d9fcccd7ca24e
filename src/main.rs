//! The `aegis` command line: run a pipeline, validate a config, inspect a plugin.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use aegis::config::Config;
use aegis::runtime::{Runtime, World};

/// The static (musl) build allocates with mimalloc: musl's own allocator takes a lock per
/// call, which cost the file → Loki path about 35 %. The glibc build keeps glibc's (with
/// mimalloc it measured no faster there).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Aegis: a telemetry pipeline with sandboxed WebAssembly plugins.
#[derive(Parser)]
#[command(name = "aegis", version, about)]
struct Cli {
    /// Log format of the collector's own logs.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "AEGIS_LOG_FORMAT")]
    log_format: LogFormat,
    /// Log filter, e.g. `info` or `aegis=debug` (RUST_LOG syntax).
    #[arg(long, global = true, default_value = "info", env = "AEGIS_LOG")]
    log: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the collector (without --config: OTLP in on the standard ports, printed to the console).
    Run {
        /// The pipeline config (TOML).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Checks a config and the plugins it names; exits 1 listing every error.
    Validate {
        /// The pipeline config (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Plugin tools.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Shows which world a component implements and which imports it asks for.
    Inspect {
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Lists the plugins built into this binary.
    List,
}

fn init_tracing(format: LogFormat, filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format, &cli.log);
    match cli.command.unwrap_or(Command::Run { config: None }) {
        Command::Run { config } => run(config),
        Command::Validate { config } => validate(config),
        Command::Plugin { command: PluginCommand::Inspect { file } } => inspect(file),
        Command::Plugin { command: PluginCommand::List } => {
            for name in aegis::runtime::builtin_names() {
                println!("builtin:{name}");
            }
            ExitCode::SUCCESS
        }
    }
}

fn load(config: Option<PathBuf>) -> Result<Config, ExitCode> {
    match config {
        None => Ok(Config::embedded_default()),
        Some(path) => Config::load(&path).map_err(|errors| {
            eprint!("{errors}");
            ExitCode::FAILURE
        }),
    }
}

fn run(config: Option<PathBuf>) -> ExitCode {
    let config = match load(config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("aegis-io").build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(aegis::service::run(config)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn validate(path: PathBuf) -> ExitCode {
    let config = Config::load(&path);
    let outcome = match config {
        Ok(config) => aegis::service::validate(config).map(|_| ()),
        Err(errors) => Err(errors.into()),
    };
    match outcome {
        Ok(()) => {
            println!("{} is valid.", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprint!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn inspect(file: PathBuf) -> ExitCode {
    let runtime = match Runtime::new(&Default::default(), aegis::admin::metrics::Telemetry::new()) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.inspect(&file) {
        Ok(inspection) => {
            println!("{}", file.display());
            let ticks = inspection.exports.iter().any(|e| e == "tick (function)");
            match inspection.world {
                Some(World::Processor) if ticks => println!("  world:   aegis:telemetry/timed-processor@0.1.0"),
                Some(world) => println!("  world:   aegis:telemetry/{world}@0.1.0"),
                None => println!("  world:   none of Aegis's (it exports none of process, receive, export)"),
            }
            if let Some(info) = &inspection.info {
                let signals: Vec<&str> = info.signals.iter().map(|s| aegis::batch::signal_name(*s)).collect();
                println!("  plugin:  {} {}", info.name, info.version);
                println!("  signals: {}", signals.join(", "));
            }
            println!("  imports:");
            for import in &inspection.imports {
                println!("    {import}");
            }
            println!("  exports:");
            for export in &inspection.exports {
                println!("    {export}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
