//go:build !dynamic && linux

package kafkaiamoauth

// Static linking (the default). libkafka_iam_oauth.a and the header are
// looked up in CGO_LDFLAGS' -L and CGO_CFLAGS' -I directories first (from a
// tarball: `pkg-config --libs-only-L` / `--cflags kafka_iam_oauth`), then in
// this checkout's include/ and target/release (in the module cache, after
// `go get`, these do not exist and are skipped), then on the compiler's
// default paths (the -dev/-devel package's /usr/include and
// /usr/lib/<multiarch>); docs/go.md, "Install with go get". "-l:" makes the
// linker take the .a even when the .so sits next to it.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -l:libkafka_iam_oauth.a -lm -ldl -lpthread -lrt -lgcc_s
import "C"

// LinkMode says how the kafka-iam-oauth library was linked.
const LinkMode = "static"
