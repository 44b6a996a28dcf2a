package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func TestParseFaults(t *testing.T) {
	s, err := ParseFaults("faults.yaml", []byte(`
# comment
windows:
  - service: EC2
    operation: DescribeInstances
    region: us-east-1
    start: 30s
    duration: 10s
    mode: throttle
  - service: "*"
    start: 0
    duration: 1m
    every: 5m
    mode: error
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []FaultWindow{
		{Service: "ec2", Operation: "DescribeInstances", Region: "us-east-1", Start: 30 * time.Second, Duration: 10 * time.Second, Mode: FaultThrottle},
		{Service: "*", Start: 0, Duration: time.Minute, Every: 5 * time.Minute, Mode: FaultError},
	}
	if len(s.Windows) != len(want) {
		t.Fatalf("windows = %+v, want %+v", s.Windows, want)
	}
	for i := range want {
		if s.Windows[i] != want[i] {
			t.Errorf("window %d = %+v, want %+v", i, s.Windows[i], want[i])
		}
	}
	for _, empty := range []string{"", "# nothing\n", "windows:\n"} {
		s, err := ParseFaults("empty.yaml", []byte(empty))
		if err != nil || len(s.Windows) != 0 {
			t.Errorf("ParseFaults(%q) = %+v, %v; want no windows", empty, s, err)
		}
	}
}

func TestParseFaultsErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"windows: [", "server: f.yaml:1: invalid YAML: "},
		{"- a\n", `server: f.yaml:1: not a faults file: expected a mapping with a "windows" list`},
		{"window: []\n", `server: f.yaml:1: not a faults file: expected a mapping with a "windows" list`},
		{"windows: []\nwindow: []\n", `server: f.yaml:2: unknown field "window" (want "windows")`},
		{"windows: 3\n", `server: f.yaml:1: field "windows": expected a list`},
		{"windows:\n  - 3\n", "server: f.yaml:2: window 1: expected a mapping"},
		{"windows:\n  - service: ec2\n    duration: 1s\n    mode: throttle\n    colour: red\n", `server: f.yaml:5: window 1: unknown field "colour"`},
		{"windows:\n  - service: ec2\n    duration: soon\n    mode: throttle\n", `server: f.yaml:3: window 1: field "duration": want a duration such as 30s or 2m, got "soon"`},
		{"windows:\n  - service: ec2\n    duration: 1s\n    mode: slow\n", `server: f.yaml:4: window 1: field "mode": must be "throttle" or "error", got "slow"`},
		{"windows:\n  - service: ec2\n    duration: 1s\n", `server: f.yaml:2: window 1: field "mode": required`},
		{"windows:\n  - duration: 1s\n    mode: error\n", `server: f.yaml:2: window 1: field "service": required`},
		{"windows:\n  - service: ec2\n    mode: error\n", `server: f.yaml:2: window 1: field "duration": must be > 0`},
		{"windows:\n  - service: ec2\n    duration: 2s\n    every: 1s\n    mode: error\n", `server: f.yaml:2: window 1: field "every": must exceed duration 2s`},
		{"windows:\n  - service: ec2\n    service: s3\n", `server: f.yaml:3: window 1: field "service": given twice`},
		{"windows:\n  - service: [ec2]\n", `server: f.yaml:2: window 1: field "service": expected a scalar value`},
		{"windows:\n  - service: ec2\n    start: -5s\n    duration: 1s\n    mode: error\n", `server: f.yaml:2: window 1: field "start": must be >= 0`},
	} {
		_, err := ParseFaults("f.yaml", []byte(c.doc))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("ParseFaults(%q) = %v, want an error starting %q", c.doc, err, c.want)
		}
	}
}

func TestLoadFaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faults.yaml")
	if err := os.WriteFile(path, []byte("windows:\n  - service: s3\n    duration: 1s\n    mode: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadFaults(path)
	if err != nil || len(s.Windows) != 1 {
		t.Fatalf("LoadFaults = %+v, %v", s, err)
	}
	if _, err := LoadFaults(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.HasPrefix(err.Error(), "server: read faults file:") {
		t.Errorf("missing file: %v", err)
	}
}

func TestFaultScheduleAt(t *testing.T) {
	s := &FaultSchedule{Origin: t0, Windows: []FaultWindow{
		{Service: "ec2", Operation: "DescribeInstances", Region: "us-east-1", Start: 30 * time.Second, Duration: 10 * time.Second, Mode: FaultThrottle},
		{Service: "*", Start: time.Minute, Duration: 5 * time.Second, Every: time.Minute, Mode: FaultError},
	}}
	for _, c := range []struct {
		at              time.Duration
		svc, op, region string
		want            FaultMode
	}{
		{29 * time.Second, "EC2", "DescribeInstances", "us-east-1", NoFault},
		{30 * time.Second, "EC2", "DescribeInstances", "us-east-1", FaultThrottle},
		{39 * time.Second, "ec2", "DescribeInstances", "us-east-1", FaultThrottle},
		{40 * time.Second, "EC2", "DescribeInstances", "us-east-1", NoFault},
		{35 * time.Second, "EC2", "RunInstances", "us-east-1", NoFault},
		{35 * time.Second, "EC2", "DescribeInstances", "eu-west-1", NoFault},
		{35 * time.Second, "S3", "GetObject", "us-east-1", NoFault},
		{60 * time.Second, "S3", "GetObject", "us-east-1", FaultError},
		{64 * time.Second, "KMS", "Decrypt", "eu-west-1", FaultError},
		{65 * time.Second, "KMS", "Decrypt", "eu-west-1", NoFault},
		{182 * time.Second, "Lambda", "Invoke", "us-east-1", FaultError},
		{-time.Second, "S3", "GetObject", "us-east-1", NoFault},
	} {
		if got := s.At(t0.Add(c.at), c.svc, c.op, c.region); got != c.want {
			t.Errorf("At(+%v, %s %s %s) = %v, want %v", c.at, c.svc, c.op, c.region, got, c.want)
		}
	}
	var none *FaultSchedule
	if got := none.At(t0, "EC2", "DescribeInstances", "us-east-1"); got != NoFault {
		t.Errorf("nil schedule: %v", got)
	}
}

// FuzzParseFaults: any input is parsed or refused with a "server: " error naming the file; it
// never panics, and what parses is valid. Seeds: testdata/fuzz/FuzzParseFaults.
func FuzzParseFaults(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseFaults("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "server: fuzz.yaml") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed schedule is invalid: %v", err)
		}
		for _, w := range s.Windows {
			s.At(t0.Add(w.Start), w.Service, w.Operation, w.Region)
		}
	})
}
