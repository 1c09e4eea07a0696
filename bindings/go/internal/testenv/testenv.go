// Package testenv holds what the Go tests share: a process environment
// that keeps the AWS SDK on loopback, a private STS emulator, and the
// emulator's control API. Test-only; nothing outside this module can import it.
package testenv

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// The emulator's built-in identities (test credentials, not secrets),
// defined once in the emulator; SetupAWS loads them from its
// --print-identities output.
var (
	UserKey, UserSecret, UserARN    string
	NoACLKey, NoACLSecret, NoACLARN string
)

const (
	WrongSecret   = "emulator-secret-but-not-the-right-one"
	ProfileNoACL  = "noacl"
	ProfileWrong  = "wrongsecret"
	ProfileAbsent = "no-such-profile"
)

// SetupAWS points the AWS SDK (inside the Rust library) at files in dir and
// at nothing off loopback. The credentials file has my-iam-user as the
// default profile, "noacl" (no-acl-user) and "wrongsecret" (my-iam-user's
// key id with a wrong secret); no keys are left in the environment, since
// they would win over a config's profile=. Call it from TestMain before
// anything uses the library.
func SetupAWS(dir string) error {
	if err := loadIdentities(); err != nil {
		return err
	}
	creds := filepath.Join(dir, "credentials")
	conf := filepath.Join(dir, "config")
	var body strings.Builder
	for _, p := range [][3]string{{"default", UserKey, UserSecret}, {ProfileNoACL, NoACLKey, NoACLSecret}, {ProfileWrong, UserKey, WrongSecret}} {
		fmt.Fprintf(&body, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n", p[0], p[1], p[2])
	}
	if err := os.WriteFile(creds, []byte(body.String()), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		return err
	}
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		os.Unsetenv(v)
	}
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             conf,
		"AWS_SHARED_CREDENTIALS_FILE": creds,
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

// loadIdentities sets UserKey ... NoACLARN from the emulator binary's
// KIO_USER_*=... / KIO_NOACL_*=... lines.
func loadIdentities() error {
	bin := EmulatorBinary()
	out, err := exec.Command(bin, "--print-identities").Output()
	if err != nil {
		return fmt.Errorf("%s --print-identities: %w", bin, err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
		}
	}
	for name, dst := range map[string]*string{
		"KIO_USER_ACCESS_KEY_ID": &UserKey, "KIO_USER_SECRET_ACCESS_KEY": &UserSecret, "KIO_USER_ARN": &UserARN,
		"KIO_NOACL_ACCESS_KEY_ID": &NoACLKey, "KIO_NOACL_SECRET_ACCESS_KEY": &NoACLSecret, "KIO_NOACL_ARN": &NoACLARN,
	} {
		if *dst = vars[name]; *dst == "" {
			return fmt.Errorf("%s --print-identities printed no %s", bin, name)
		}
	}
	return nil
}

// EmulatorBinary is $KIO_EMULATOR_BIN, else
// $CARGO_TARGET_DIR/debug/kafka-iam-oauth-emulator, else the checkout's
// target/debug/kafka-iam-oauth-emulator.
func EmulatorBinary() string {
	if b := os.Getenv("KIO_EMULATOR_BIN"); b != "" {
		return b
	}
	if d := os.Getenv("CARGO_TARGET_DIR"); d != "" {
		return filepath.Join(d, "debug", "kafka-iam-oauth-emulator")
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "target", "debug", "kafka-iam-oauth-emulator")
}

// Emulator is a private emulator process.
type Emulator struct {
	URL string
	cmd *exec.Cmd
}

// StartEmulator starts a private emulator on a free loopback port.
func StartEmulator(dir string) (*Emulator, error) {
	bin := EmulatorBinary()
	ready := filepath.Join(dir, "emulator.url")
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", "0", "--ready-file", ready, "--quiet")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (build it with `cargo build -p kafka-iam-oauth-emulator`): %w", bin, err)
	}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		s, _ := r.ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case s := <-line:
		const prefix = "kafka-iam-oauth-emulator ready url="
		if !strings.HasPrefix(s, prefix) {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("emulator printed %q instead of its ready line", s)
		}
		return &Emulator{URL: strings.TrimSpace(strings.TrimPrefix(s, prefix)), cmd: cmd}, nil
	case <-time.After(120 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("emulator not ready after 120 s")
	}
}

// Stop ends the emulator.
func (e *Emulator) Stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
	}
}

// Control calls the emulator's control API at url and decodes the JSON answer.
func Control(url, method, path string, body any) (map[string]any, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(url, "/")+path, in)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	out := map[string]any{}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return out, nil
}

// MintCalls is the emulator's GetWebIdentityToken request counter.
func MintCalls(url string) (int, error) {
	s, err := Control(url, "GET", "/_emulator/stats", nil)
	if err != nil {
		return 0, err
	}
	reqs, _ := s["requests"].(map[string]any)
	n, _ := reqs["GetWebIdentityToken"].(float64)
	return int(n), nil
}

// Claims decodes a JWT's payload without verifying it.
func Claims(jwt string) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("a JWT has 3 parts, this has %d", len(parts))
	}
	raw, err := decodeSegment(parts[1])
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(raw, &out)
}

func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// RunWithEmulator is the TestMain of a package whose tests need only a
// private emulator: SetupAWS and StartEmulator in a temporary directory,
// the emulator stored in *emu, then m.Run(). It returns the exit code.
func RunWithEmulator(m interface{ Run() int }, emu **Emulator) int {
	dir, err := os.MkdirTemp("", "kio-go-")
	if err == nil {
		err = SetupAWS(dir)
	}
	if err == nil {
		*emu, err = StartEmulator(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	defer (*emu).Stop()
	return m.Run()
}
