//go:build !dynamic && !linux

package kafkaiamoauth

// Static linking on systems whose linker has no "-l:" syntax: put only
// libkafka_iam_oauth.a (not the shared library) in the -L directory.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -lkafka_iam_oauth -lm -ldl -lpthread
// #cgo darwin LDFLAGS: -framework CoreFoundation -framework Security
import "C"

// LinkMode says how the kafka-iam-oauth library was linked.
const LinkMode = "static"
