//go:build dynamic

package kafkaiamoauth

// -tags dynamic: the shared library, found through pkg-config
// (kafka_iam_oauth.pc on PKG_CONFIG_PATH; `make go-pkgconfig` writes one for
// this checkout from kafka_iam_oauth.pc.in).

// #cgo pkg-config: kafka_iam_oauth
import "C"

// LinkMode says how the kafka-iam-oauth library was linked.
const LinkMode = "dynamic"
