//! `portico`: serve, migrate, seed the demo, create an admin, back up and restore.

use clap::{Parser, Subcommand};
use portico::{Config, cli, telemetry};

#[derive(Parser)]
#[command(name = "portico", version, about = "Bookings, staffing, registers and payments")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Load the demo data into an empty database; `--size large` adds a big provider's history.
    SeedDemo {
        #[arg(long, value_enum, default_value_t = cli::DemoSize::Small)]
        size: cli::DemoSize,
        /// With `--size large`: divide every size by N, for a quicker trial.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
        divide_by: i64,
    },
    /// Create an admin (owner); the password comes from PORTICO_ADMIN_PASSWORD or the terminal.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Write a consistent backup of the database to FILE (pg_dump's custom format).
    Backup { file: std::path::PathBuf },
    /// Load a backup FILE into an empty database.
    Restore { file: std::path::PathBuf },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    telemetry::init();
    let config = Config::from_env()?;
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => cli::serve(config).await,
        Command::Migrate => cli::migrate(config).await,
        Command::SeedDemo { size, divide_by } => cli::seed_demo(config, size, divide_by).await,
        Command::CreateAdmin { email, name } => cli::create_admin(config, &email, &name).await,
        Command::Backup { file } => cli::backup(config, file).await,
        Command::Restore { file } => cli::restore(config, file).await,
    }
}
