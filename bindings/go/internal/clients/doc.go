// Package clients holds the end-to-end tests of the pure-Go client
// adapters (kiosarama, kiofranz, kiokafkago) against the harness broker:
// all three in one process, as a service using several clients would, so
// the tests can count the STS calls the process makes between them. It is
// its own module (test-only, nothing to import) so that the adapters'
// modules each require only their own client.
package clients
