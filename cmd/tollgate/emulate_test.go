package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/tollgate/tollgate/internal/tracetest"
)

// startEmulate runs `tollgate emulate args...` in-process and returns the endpoint URL it
// printed first, and a function that stops it (cancelling its context, as SIGINT does) and
// returns its exit status and output.
func startEmulate(t *testing.T, args ...string) (url string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := execute(ctx, append([]string{"emulate"}, args...), pw, &stderr)
		pw.Close()
		done <- code
	}()
	br := bufio.NewReader(pr)
	first, err := br.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("emulate printed no URL (%v); stderr: %s", err, stderr.String())
	}
	var rest bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&rest, br); close(copied) }()
	return strings.TrimSpace(first), func() (int, string) {
		cancel()
		code := <-done
		<-copied
		return code, first + rest.String() + stderr.String()
	}
}

func callerIdentity(url string) error {
	client := sts.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	})
	_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err
}

func TestEmulateServesUntilCancelled(t *testing.T) {
	url, stop := startEmulate(t, "--listen", "127.0.0.1:0", "--latency", "1ms", "--seed", "3")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q, want the endpoint URL", url)
	}
	if err := callerIdentity(url); err != nil {
		t.Errorf("GetCallerIdentity against the emulator: %v", err)
	}
	code, out := stop()
	if code != 130 {
		t.Errorf("exit status %d, want 130 (interrupted); output:\n%s", code, out)
	}
	for _, want := range []string{url + "/metrics", "UsePathStyle", "AWS_ENDPOINT_URL=" + url, "tollgate emulate: interrupted"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if err := callerIdentity(url); err == nil {
		t.Errorf("still serving after the context was cancelled")
	}
}

func TestEmulateRulesAndFaultsFiles(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	faults := filepath.Join(dir, "faults.yaml")
	os.WriteFile(rules, []byte("rules:\n  - name: sts-all\n    service: STS\n    rate: 1\n    burst: 1\n    source: test\n"), 0o600)
	os.WriteFile(faults, []byte("windows:\n  - service: sts\n    start: 1h\n    duration: 1s\n    mode: error\n"), 0o600)
	url, stop := startEmulate(t, "--listen", "127.0.0.1:0", "--rules", rules, "--faults", faults)
	if err := callerIdentity(url); err != nil {
		t.Fatalf("first call: %v", err)
	}
	var ae smithy.APIError
	if err := callerIdentity(url); !errors.As(err, &ae) || ae.ErrorCode() != "Throttling" {
		t.Errorf("second call with a 1-token STS bucket: %v, want Throttling", err)
	}
	code, out := stop()
	if code != 130 || !strings.Contains(out, "overridden by "+rules) || !strings.Contains(out, "(1 windows") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestEmulateInputs(t *testing.T) {
	dir := tracetest.WriteFiles(t, t.TempDir(), map[string]string{
		"bad.yaml":    "rules:\n  - name: x\n    service: EC2\n    rate: 0\n    burst: 1\n",
		"faults.yaml": "windows:\n  - service: ec2\n    duration: 1s\n    mode: sometimes\n",
		"shadow":      shadowFile,
		"bomb.yaml":   rulesBomb(),
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	listen := []string{"emulate", "--listen", "127.0.0.1:0"}
	runCases(t, []cliCase{
		{Name: "non-loopback", Args: []string{"emulate", "--listen", "0.0.0.0:0"}, Code: 2, Stderr: []string{"non-loopback"}},
		{Name: "listen nonsense", Args: []string{"emulate", "--listen", "nonsense"}, Code: 2, Stderr: []string{"--listen"}},
		{Name: "table", Args: []string{"emulate", "--table", "orders"}, Code: 2, Stderr: []string{"NAME=HASH"}},
		{Name: "latency -1s", Args: []string{"emulate", "--latency", "-1s"}, Code: 2, Stderr: []string{`"--latency" flag: want >= 0s`}},
		{Name: "split-after 0", Args: []string{"emulate", "--split-after", "0s"}, Code: 2, Stderr: []string{`"--split-after" flag: want > 0s`}},
		{Name: "argument", Args: []string{"emulate", "extra"}, Code: 2, Stderr: []string{`unexpected argument "extra"`}},
		{Name: "max-object-size 0", Args: []string{"emulate", "--max-object-size", "0"}, Code: 2, Stderr: []string{`"--max-object-size" flag: want 1 to 1TiB`}},
		{Name: "max-store-size lots", Args: []string{"emulate", "--max-store-size", "lots"}, Code: 2, Stderr: []string{`"--max-store-size" flag: want a size`}},
		{Name: "object larger than the store", Args: append(listen, "--max-object-size", "2MiB", "--max-store-size", "1MiB"), Code: 2,
			Stderr: []string{"--max-object-size (2097152 bytes) must not exceed --max-store-size (1048576 bytes)"}},
		{Name: "max-connections 0", Args: []string{"emulate", "--max-connections", "0"}, Code: 2, Stderr: []string{`"--max-connections" flag: want 1 to 1048576`}},
		{Name: "read-timeout -1s", Args: []string{"emulate", "--read-timeout", "-1s"}, Code: 2, Stderr: []string{`"--read-timeout" flag: want >= 0s`}},
		{Name: "bad rules field", Args: append(listen, "--rules", f("bad.yaml")), Code: 1, Stderr: []string{f("bad.yaml") + `:4: rule "x": field "rate"`}},
		{Name: "bad faults field", Args: append(listen, "--faults", f("faults.yaml")), Code: 1, Stderr: []string{f("faults.yaml") + `:4: window 1: field "mode"`}},
		{Name: "account", Args: append(listen, "--account", "42"), Code: 1, Stderr: []string{"Account must be 12 digits"}},
		// Files named by mistake: refused before being read (/dev/zero never ends), never quoted.
		{Name: "rules that are a device", Args: append(listen, "--rules", "/dev/zero"), Code: 1, Stderr: []string{"/dev/zero: not a regular file"}},
		{Name: "rules that are a directory", Args: append(listen, "--rules", dir), Code: 1, Stderr: []string{dir + ": not a regular file"}},
		{Name: "rules that are a password file", Args: append(listen, "--rules", f("shadow")), Code: 1, Stderr: []string{"shadow:1: not a limiter rules file"}, Secret: "SECRETHASH"},
		{Name: "faults that are a password file", Args: append(listen, "--faults", f("shadow")), Code: 1, Stderr: []string{"shadow:1: not a faults file"}, Secret: "SECRETHASH"},
		{Name: "rules alias bomb", Args: append(listen, "--rules", f("bomb.yaml")), Code: 1, Stderr: []string{"bomb.yaml:", "YAML aliases expand"}, MaxRSS: 64 << 20},
		{Name: "help", Args: []string{"emulate", "--help"}, Code: 0, Stdout: []string{"--allow-remote", "--max-store-size size", "--body-idle-timeout duration"}},
	})
}
