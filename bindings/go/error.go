package kafkaiamoauth

/*
#include <stdlib.h>
#include "kafka_iam_oauth.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by calls on a Provider after Close. It is a Go
// sentinel (errors.Is(err, ErrClosed)), not an *Error: the C library never
// sees a closed Provider.
var ErrClosed = errors.New("kafka-iam-oauth: the Provider is closed")

// Code says what kind of failure an Error is: the C ABI's status codes
// (kafka_iam_oauth_status).
type Code int

// The kinds of failure.
const (
	// CodeInvalidArgument: a string contained a NUL byte, was not UTF-8 or
	// was longer than 65536 bytes.
	CodeInvalidArgument Code = C.KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT
	// CodeConfig: the configuration string is invalid; the message names the key.
	CodeConfig Code = C.KAFKA_IAM_OAUTH_ERR_CONFIG
	// CodeCredentials: no usable AWS credentials.
	CodeCredentials Code = C.KAFKA_IAM_OAUTH_ERR_CREDENTIALS
	// CodeSTS: AWS STS answered with an error; see Error.AWSCode.
	CodeSTS Code = C.KAFKA_IAM_OAUTH_ERR_STS
	// CodeTimeout: no token in time (the context's deadline or the library's
	// default wait, DefaultTimeout).
	CodeTimeout Code = C.KAFKA_IAM_OAUTH_ERR_TIMEOUT
	// CodeInternal: a bug in the library; please report it.
	CodeInternal Code = C.KAFKA_IAM_OAUTH_ERR_INTERNAL
)

func (c Code) String() string {
	switch c {
	case CodeInvalidArgument:
		return "invalid argument"
	case CodeConfig:
		return "configuration error"
	case CodeCredentials:
		return "credentials error"
	case CodeSTS:
		return "STS error"
	case CodeTimeout:
		return "timeout"
	case CodeInternal:
		return "internal error"
	}
	return fmt.Sprintf("code %d", int(c))
}

// Error is the error every call of this package returns; it comes back
// from the call that failed. Its message never contains a token, a secret
// access key or a session token.
//
//	var e *kafkaiamoauth.Error
//	if errors.As(err, &e) && e.Code == kafkaiamoauth.CodeSTS { log.Print(e.AWSCode) }
type Error struct {
	// Code is the kind of failure.
	Code Code
	// Message says what went wrong and what to change.
	Message string
	// AWSCode is the AWS error code for STS errors (e.g. "AccessDenied"),
	// empty otherwise.
	AWSCode string
	// Retryable says whether trying again later may succeed (throttling,
	// STS 5xx, a timeout, an unreachable endpoint), as the library judges
	// it; configuration, credential and permission errors need a change
	// first.
	Retryable bool
	// cause is the context's error when the context ended the wait.
	cause error
}

func (e *Error) Error() string {
	return "kafka-iam-oauth: " + e.Message
}

// Unwrap returns context.DeadlineExceeded when the context's deadline
// ended the wait, so errors.Is(err, context.DeadlineExceeded) holds.
func (e *Error) Unwrap() error {
	return e.cause
}

// takeError converts an owned C error (may be NULL) and frees it.
func takeError(status C.kafka_iam_oauth_status, cerr *C.kafka_iam_oauth_error) *Error {
	e := &Error{Code: Code(status)}
	if cerr == nil {
		e.Message = Code(status).String()
		return e
	}
	e.Code = Code(C.kafka_iam_oauth_error_status(cerr))
	e.Message = C.GoString(C.kafka_iam_oauth_error_message(cerr))
	if aws := C.kafka_iam_oauth_error_aws_code(cerr); aws != nil {
		e.AWSCode = C.GoString(aws)
	}
	e.Retryable = bool(C.kafka_iam_oauth_error_retryable(cerr))
	C.kafka_iam_oauth_error_free(cerr)
	return e
}
