//! librdkafka plugin entry point `conf_init` (issue 6: to come).
