//! The `kafka-iam-oauth` binary: everything is in the library (also run by
//! Python's console script).

fn main() {
    std::process::exit(kafka_iam_oauth_cli::main_from_args(
        std::env::args_os().collect(),
    ));
}
