//! librdkafka at run time.
