//go:build dynamic

package kafkaiamoauth

// -tags dynamic: the installed shared library, found through pkg-config.
// `make install PREFIX=...` installs it with kafka_iam_oauth.pc in
// PREFIX/lib/pkgconfig (put that directory on PKG_CONFIG_PATH, and PREFIX/lib
// on the run-time library path unless it is a system directory); the Go
// suite installs into build/go/prefix (`make go-pkgconfig`). docs/c.md,
// "Install".

// #cgo pkg-config: kafka_iam_oauth
import "C"

// LinkMode says how the kafka-iam-oauth library was linked.
const LinkMode = "dynamic"
