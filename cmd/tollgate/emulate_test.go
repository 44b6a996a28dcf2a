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
	if code != 0 {
		t.Errorf("exit status %d, want 0; output:\n%s", code, out)
	}
	for _, want := range []string{url + "/metrics", "UsePathStyle", "AWS_ENDPOINT_URL=" + url, "stopped"} {
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
	if code != 0 || !strings.Contains(out, "overridden by "+rules) || !strings.Contains(out, "(1 windows") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestEmulateErrors(t *testing.T) {
	dir := t.TempDir()
	badRules := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badRules, []byte("rules:\n  - name: x\n    service: EC2\n    rate: 0\n    burst: 1\n"), 0o600)
	badFaults := filepath.Join(dir, "faults.yaml")
	os.WriteFile(badFaults, []byte("windows:\n  - service: ec2\n    duration: 1s\n    mode: sometimes\n"), 0o600)
	for _, c := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, 2, "non-loopback"},
		{[]string{"--listen", "nonsense"}, 2, "--listen"},
		{[]string{"--table", "orders"}, 2, "NAME=HASH"},
		{[]string{"--latency", "-1s"}, 2, "--latency"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--listen", "127.0.0.1:0", "--rules", badRules}, 1, badRules + `:4: rule "x": field "rate"`},
		{[]string{"--listen", "127.0.0.1:0", "--faults", badFaults}, 1, badFaults + `:4: window 1: field "mode"`},
		{[]string{"--listen", "127.0.0.1:0", "--account", "42"}, 1, "Account must be 12 digits"},
	} {
		var stdout, stderr bytes.Buffer
		code := execute(context.Background(), append([]string{"emulate"}, c.args...), &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.inStderr) {
			t.Errorf("emulate %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr.String(), c.code, c.inStderr)
		}
	}
	var stdout bytes.Buffer
	if code := execute(context.Background(), []string{"emulate", "--help"}, &stdout, io.Discard); code != 0 || !strings.Contains(stdout.String(), "--allow-remote") {
		t.Errorf("--help: exit %d, output %q", code, stdout.String())
	}
}
