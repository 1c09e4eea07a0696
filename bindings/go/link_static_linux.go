//go:build !dynamic && linux

package kafkaiamoauth

// Static linking (the default). The library is looked up in the
// directories given with -L in CGO_LDFLAGS first, then in this checkout's
// target/release; "-l:" makes the linker take the .a even when the .so sits
// next to it.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -l:libkafka_iam_oauth.a -lm -ldl -lpthread -lrt -lgcc_s
import "C"

// LinkMode says how the kafka-iam-oauth library was linked.
const LinkMode = "static"
