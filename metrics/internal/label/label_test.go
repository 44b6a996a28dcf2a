package label

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"":                      Unknown,
		"S3":                    "S3",
		"CloudWatch Logs":       "CloudWatch Logs",
		"my-bucket/key.json":    Other,
		"a\xffb":                Other,
		"ü":                     Other,
		strings.Repeat("x", 64): strings.Repeat("x", 64),
		strings.Repeat("x", 65): Other,
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Operation("DescribeInstances:unfiltered"); got != "DescribeInstances" {
		t.Errorf("Operation drops the variant: got %q", got)
	}
}

func TestCodeSet(t *testing.T) {
	s := NewCodeSet(ErrorCodes("MyThrottle"))
	for in, want := range map[string]string{
		"SlowDown":                    "SlowDown",
		"Client.RequestLimitExceeded": "RequestLimitExceeded",
		"Server.InternalError":        "InternalError",
		"ServiceUnavailable":          "ServiceUnavailable",
		"MyThrottle":                  "MyThrottle",
		"NoSuchKey":                   Other,
		"":                            Other,
		"Client.":                     Other,
	} {
		if got := s.Label(in); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
	if n := len(ErrorCodes()); n != 20 {
		t.Errorf("%d known codes, want backoff's 14 throttle and 6 transient codes", n)
	}
}

func TestPairsCapAndReuse(t *testing.T) {
	built := 0
	p := NewPairs(3, func(pr Pair) *Pair { built++; return &pr })
	a := p.Get("S3", "GetObject")
	if p.Get("S3", "GetObject") != a || built != 1 {
		t.Fatal("a pair is built once and reused")
	}
	p.Get("S3", "PutObject")
	p.Get("EC2", "DescribeInstances:unfiltered")
	if got := p.Get("EC2", "DescribeInstances"); got.Operation != "DescribeInstances" || built != 3 {
		t.Errorf("the variant shares its API's pair: %+v, built %d", got, built)
	}
	over := p.Get("KMS", "Encrypt")
	if *over != (Pair{Other, Other}) || p.Get("Lambda", "Invoke") != over || p.Len() != 3 {
		t.Errorf("over the cap: %+v, len %d", *over, p.Len())
	}

	// Concurrent first uses build each pair at most once per winner and agree on the result.
	q := NewPairs(0, func(pr Pair) *Pair { return &pr })
	var wg sync.WaitGroup
	got := make([]*Pair, 16)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = q.Get("DynamoDB", fmt.Sprint("Op", i%4)) }()
	}
	wg.Wait()
	for i := range got {
		if got[i] != q.Get("DynamoDB", fmt.Sprint("Op", i%4)) {
			t.Errorf("goroutine %d got a different pair", i)
		}
	}
}
