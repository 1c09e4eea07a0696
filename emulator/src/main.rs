fn main() {
    eprintln!("kafka-iam-oauth-emulator: not implemented yet");
    std::process::exit(1);
}
