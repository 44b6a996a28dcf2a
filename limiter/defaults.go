package limiter

//go:generate go run ./internal/genops

import (
	"bufio"
	"bytes"
	"embed"
	"path"
	"strings"
	"sync"
)

// data holds the default rules and the known-operation lists, each with its source.
//
//go:embed data/defaults.yaml data/operations/*.txt
var data embed.FS

// DefaultRules returns tollgate's built-in rules: AWS's published quotas for EC2 (per-action
// request buckets by category, the uncategorized actions with their own sizes, and the
// RunInstances/StartInstances/TerminateInstances/StopInstances resource buckets), S3 (per
// partitioned prefix), KMS (shared symmetric cryptographic quota by Region, management
// operations), Lambda (GetFunction, GetPolicy, the rest of the control plane) and DynamoDB (per
// table). They come from the embedded file data/defaults.yaml, whose source field cites the AWS
// page for each rule. The result is a fresh copy the caller may change.
func DefaultRules() Rules {
	rs := defaultRules()
	return append(Rules(nil), rs...)
}

var defaultRules = sync.OnceValue(func() Rules {
	b, err := data.ReadFile("data/defaults.yaml")
	if err != nil {
		panic("limiter: embedded defaults missing: " + err.Error())
	}
	rs, err := ParseRules("data/defaults.yaml", b)
	if err != nil {
		// The embedded file is checked by the package tests; this is a build defect.
		panic(err)
	}
	return rs
})

// UnfilteredSuffix is the operation variant the default rules use for the EC2 Describe calls
// that have a smaller bucket when made with neither a filter nor pagination.
const UnfilteredSuffix = ":unfiltered"

// UnfilteredOperation returns the operation name to put in a [Key] for an EC2 call made with
// neither a filter nor pagination ("DescribeInstances" → "DescribeInstances:unfiltered"), and
// false when the default rules give that action no separate unfiltered bucket. It does not
// allocate. Calls with a filter or pagination use the plain name and the non-mutating bucket.
func UnfilteredOperation(operation string) (string, bool) {
	v, ok := unfilteredOps()[operation]
	return v, ok
}

var unfilteredOps = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, r := range defaultRules() {
		for rest, more := r.Operation, true; more; {
			var alt string
			alt, rest, more = strings.Cut(rest, "|")
			if base, ok := strings.CutSuffix(alt, UnfilteredSuffix); ok {
				m[base] = alt
			}
		}
	}
	return m
})

// knownOperations maps a lower-cased ServiceID to its operation names, read from
// data/operations/<ServiceID>.txt (written by internal/genops from the aws-sdk-go-v2 service
// modules).
var knownOperations = sync.OnceValue(func() map[string][]string {
	m := map[string][]string{}
	entries, err := data.ReadDir("data/operations")
	if err != nil {
		panic("limiter: embedded operation lists missing: " + err.Error())
	}
	for _, e := range entries {
		b, err := data.ReadFile(path.Join("data/operations", e.Name()))
		if err != nil {
			panic("limiter: " + err.Error())
		}
		var ops []string
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			ops = append(ops, line)
		}
		m[strings.ToLower(strings.TrimSuffix(e.Name(), ".txt"))] = ops
	}
	return m
})

// KnownOperations returns the operation names tollgate knows for service (case-insensitive),
// and false when it has no list for it. Rules for a service with a list must match at least one
// of its operations with every alternative of their Operation glob.
func KnownOperations(service string) ([]string, bool) {
	ops, ok := knownOperations()[strings.ToLower(service)]
	return append([]string(nil), ops...), ok
}

// unknownAlternative returns the first alternative of pattern that matches none of service's
// known operations, and ok=false; ok is true when every alternative matches one or the service
// has no list.
func unknownAlternative(service, pattern string) (alt string, ok bool) {
	ops, listed := knownOperations()[strings.ToLower(service)]
	if !listed {
		return "", true
	}
	lower := knownOperationSet()[strings.ToLower(service)]
	var buf [64]byte
	for rest, more := pattern, true; more; {
		alt, rest, more = strings.Cut(rest, "|")
		base := baseOperation(alt)
		found := false
		if !strings.ContainsAny(base, "*?") && len(base) <= len(buf) {
			// A glob without wildcards matches exactly the names equal to it, ignoring
			// ASCII case: look it up.
			b := buf[:len(base)]
			for i := 0; i < len(base); i++ {
				b[i] = lowerASCII(base[i])
			}
			_, found = lower[string(b)]
		} else {
			for _, op := range ops {
				if globMatch(base, op) {
					found = true
					break
				}
			}
		}
		if !found {
			return alt, false
		}
	}
	return "", true
}

// knownOperationSet is knownOperations as sets of ASCII-lower-cased names.
var knownOperationSet = sync.OnceValue(func() map[string]map[string]struct{} {
	m := map[string]map[string]struct{}{}
	for service, ops := range knownOperations() {
		set := make(map[string]struct{}, len(ops))
		for _, op := range ops {
			b := []byte(op)
			for i := range b {
				b[i] = lowerASCII(b[i])
			}
			set[string(b)] = struct{}{}
		}
		m[service] = set
	}
	return m
})
