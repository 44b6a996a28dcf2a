package limiter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const validYAML = `
rules:
  - name: ec2-describe
    service: EC2
    operation: Describe*
    rate: 20
    burst: 100
    source: EC2 devguide
  - name: kms-crypto
    service: kms
    operation: Encrypt|Decrypt
    region: us-east-1
    rate: 100000
    burst: 100000
    scope: shared
  - name: s3-get
    service: S3
    operation: GetObject
    rate: 5500
    burst: 5500
    partition: prefix
    scope: shared
  - name: ec2-run-instances
    service: EC2
    operation: RunInstances
    rate: 2
    burst: 1000
    cost: 1
    charge: units
  - service: MyService
    operation: "*"
    rate: 0.5
    burst: 1
`

func TestParseRulesYAML(t *testing.T) {
	rs := mustParse(t, validYAML)
	if len(rs) != 5 {
		t.Fatalf("got %d rules", len(rs))
	}
	want := Rule{Name: "kms-crypto", Service: "kms", Operation: "Encrypt|Decrypt", Region: "us-east-1",
		Rate: 100000, Burst: 100000, Scope: ScopeShared}
	if rs[1] != want {
		t.Errorf("rule 2 = %+v, want %+v", rs[1], want)
	}
	if rs[2].Partition != PartitionPrefix || rs[3].Charge != ChargeUnits || rs[0].Source != "EC2 devguide" {
		t.Errorf("fields not decoded: %+v", rs)
	}
	if rs[4].DisplayName() != "myservice/*" || rs[4].Rate != 0.5 {
		t.Errorf("unnamed rule: %q rate %v", rs[4].DisplayName(), rs[4].Rate)
	}
	if r, ok := rs.Match("ec2", "DescribeImages", "eu-west-1"); !ok || r.Name != "ec2-describe" {
		t.Errorf("Match = %+v %v", r, ok)
	}
	if _, ok := rs.Match("KMS", "Encrypt", "eu-west-1"); ok {
		t.Error("region-restricted rule matched another region")
	}
}

// adaptive: false opts a rule out of adaptive rates; the default (and adaptive: true) is in.
func TestParseRulesAdaptive(t *testing.T) {
	rs := mustParse(t, `
rules:
  - name: fixed
    service: EC2
    operation: DescribeInstances
    rate: 20
    burst: 100
    adaptive: false
  - name: learned
    service: EC2
    operation: DescribeVolumes
    rate: 20
    burst: 100
    adaptive: true
  - name: default
    service: EC2
    operation: DescribeImages
    rate: 20
    burst: 100
`)
	if !rs[0].NonAdaptive || rs[1].NonAdaptive || rs[2].NonAdaptive {
		t.Errorf("NonAdaptive = %v %v %v, want true false false", rs[0].NonAdaptive, rs[1].NonAdaptive, rs[2].NonAdaptive)
	}
	js, err := ParseRules("r.json", []byte(`[{"service": "EC2", "operation": "DescribeInstances", "rate": 20, "burst": 100, "adaptive": false}]`))
	if err != nil || !js[0].NonAdaptive {
		t.Errorf("JSON adaptive false: %+v %v", js, err)
	}
	l := New(rs)
	for _, op := range []string{"DescribeInstances", "DescribeVolumes", "DescribeImages"} {
		k := Key{Region: "us-east-1", Service: "EC2", Operation: op}
		l.Throttled(t0, k)
		for i := range 10 {
			l.Succeeded(at(time.Duration(i)*100*time.Millisecond), k)
		}
		l.Throttled(at(time.Second), k)
		_, _, learned, _ := l.Rate(at(time.Second), k)
		if want := op != "DescribeInstances"; learned != want {
			t.Errorf("%s: learned %v, want %v", op, learned, want)
		}
	}
}

func TestParseRulesJSON(t *testing.T) {
	doc := `{
  "rules": [
    {"name": "ec2-describe", "service": "EC2", "operation": "Describe*", "rate": 20, "burst": 100},
    {"name": "bad", "service": "EC2", "operation": "Describe*", "rate": 20, "burst": 0}
  ]
}`
	_, err := ParseRules("rules.json", []byte(doc))
	want := `limiter: rules.json:4: rule "bad": field "burst": must be > 0`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	rs, err := ParseRules("rules.json", []byte(`[{"service": "S3", "operation": "GetObject", "rate": 5500, "burst": 5500, "partition": "prefix"}]`))
	if err != nil || len(rs) != 1 || rs[0].Partition != PartitionPrefix {
		t.Fatalf("bare list: %+v %v", rs, err)
	}
}

// TestParseRulesErrors checks that each kind of bad rules file gets its own error, naming the
// file, line, rule and field.
func TestParseRulesErrors(t *testing.T) {
	rule := func(fields string) string {
		return "rules:\n  - name: r1\n    service: EC2\n" + fields
	}
	cases := []struct {
		name, doc, want string
	}{
		{"zero rate", rule("    operation: Describe*\n    rate: 0\n    burst: 10\n"),
			`limiter: f.yaml:5: rule "r1": field "rate": must be > 0`},
		{"negative rate", rule("    rate: -2\n    burst: 10\n"),
			`limiter: f.yaml:4: rule "r1": field "rate": must be > 0`},
		{"infinite rate", rule("    rate: .inf\n    burst: 10\n"),
			`limiter: f.yaml:4: rule "r1": field "rate": must be a finite number`},
		{"zero burst", rule("    rate: 2\n    burst: 0\n"),
			`limiter: f.yaml:5: rule "r1": field "burst": must be > 0`},
		{"missing burst", rule("    rate: 2\n"),
			`limiter: f.yaml:2: rule "r1": field "burst": must be > 0`},
		{"fractional burst", rule("    rate: 2\n    burst: 2.5\n"),
			`limiter: f.yaml:5: rule "r1": field "burst": must be a whole number, not "2.5"`},
		{"quoted rate", rule("    rate: \"2\"\n    burst: 5\n"),
			`limiter: f.yaml:4: rule "r1": field "rate": must be a number of tokens per second, not "2"`},
		{"unknown partition scheme", rule("    rate: 2\n    burst: 5\n    partition: bucket\n"),
			`limiter: f.yaml:6: rule "r1": field "partition": unknown partition scheme "bucket" (want none, resource or prefix)`},
		{"unknown scope", rule("    rate: 2\n    burst: 5\n    scope: group\n"),
			`limiter: f.yaml:6: rule "r1": field "scope": unknown scope "group" (want operation or shared)`},
		{"unknown charge", rule("    rate: 2\n    burst: 5\n    charge: bytes\n"),
			`limiter: f.yaml:6: rule "r1": field "charge": unknown charge "bytes" (want calls or units)`},
		{"glob matching no known operation", rule("    operation: Descibe*\n    rate: 2\n    burst: 5\n"),
			`limiter: f.yaml:4: rule "r1": field "operation": "Descibe*" matches no known EC2 operation`},
		{"one alternative matching nothing", rule("    operation: CreateTags|DeleteTag\n    rate: 2\n    burst: 5\n"),
			`limiter: f.yaml:4: rule "r1": field "operation": "DeleteTag" matches no known EC2 operation`},
		{"bad glob syntax", rule("    operation: Describe[a]\n    rate: 2\n    burst: 5\n"),
			`limiter: f.yaml:4: rule "r1": field "operation": contains '['; allowed are letters, digits, - _ . : / and the wildcards * ?`},
		{"empty alternative", rule("    operation: CreateTags||DeleteTags\n    rate: 2\n    burst: 5\n"),
			`limiter: f.yaml:4: rule "r1": field "operation": has an empty alternative (check the '|' separators)`},
		{"duplicate names", rule("    rate: 2\n    burst: 5\n  - name: r1\n    service: S3\n    rate: 1\n    burst: 1\n"),
			`limiter: f.yaml:6: rule "r1": field "name": duplicate rule name (first used at line 2)`},
		{"unknown field", rule("    rate: 2\n    brust: 5\n    burst: 5\n"),
			`limiter: f.yaml:5: rule "r1": field "brust": unknown field (known fields: name, service, operation, region, rate, burst, cost, partition, scope, charge, adaptive, source)`},
		{"adaptive not a boolean", rule("    rate: 2\n    burst: 5\n    adaptive: maybe\n"),
			`limiter: f.yaml:6: rule "r1": field "adaptive": must be true or false, not "maybe"`},
		{"adaptive as YAML 1.1 no", rule("    rate: 2\n    burst: 5\n    adaptive: no\n"),
			`limiter: f.yaml:6: rule "r1": field "adaptive": must be true or false, not "no"`},
		{"adaptive quoted", rule("    rate: 2\n    burst: 5\n    adaptive: \"false\"\n"),
			`limiter: f.yaml:6: rule "r1": field "adaptive": must be true or false, not "false"`},
		{"field given twice", rule("    rate: 2\n    burst: 5\n    rate: 3\n"),
			`limiter: f.yaml:6: rule "r1": field "rate": given twice`},
		{"missing service", "rules:\n  - name: r1\n    rate: 2\n    burst: 5\n",
			`limiter: f.yaml:2: rule "r1": field "service": is required`},
		{"list value", rule("    rate: [2]\n    burst: 5\n"),
			`limiter: f.yaml:4: rule "r1": field "rate": must be a single value, not a list or mapping`},
		{"explicit zero cost", rule("    rate: 2\n    burst: 5\n    cost: 0\n"),
			`limiter: f.yaml:6: rule "r1": field "cost": must be > 0`},
		{"cost above burst", rule("    rate: 2\n    burst: 5\n    cost: 6\n"),
			`limiter: f.yaml:6: rule "r1": field "cost": 6 exceeds burst 5: no call could ever be admitted`},
		{"rule not a mapping", "rules:\n  - just a string\n",
			`limiter: f.yaml:2: rule #1: must be a mapping of fields`},
		{"unknown top-level key", "rule:\n  - name: r1\n",
			`limiter: f.yaml:1: unknown top-level key "rule" (want "rules")`},
		{"rules not a list", "rules: 3\n",
			`limiter: f.yaml:1: "rules" must be a list of rules`},
		{"scalar document", "hello\n",
			`limiter: f.yaml:1: the document must be a mapping with a "rules" list, or a list of rules`},
		{"empty file", "",
			`limiter: f.yaml: empty rules file`},
		{"invalid YAML", "rules:\n  - name: r1\n    service: EC2: x\n",
			`limiter: f.yaml:3: invalid YAML: mapping values are not allowed in this context`},
		{"two documents", "rules: []\n---\nrules: []\n",
			`limiter: f.yaml:2: more than one YAML document; put all rules in one`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRules("f.yaml", []byte(c.doc))
			if err == nil {
				t.Fatalf("no error for\n%s", c.doc)
			}
			if err.Error() != c.want {
				t.Errorf("error\n got: %v\nwant: %s", err, c.want)
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Errorf("error is %T, not a *RuleError", err)
			}
		})
	}
}

func TestParseRulesReportsEveryProblem(t *testing.T) {
	doc := "rules:\n  - name: a\n    service: EC2\n    rate: 0\n    burst: 0\n  - name: b\n    service: S3\n    rate: 1\n    burst: 1\n    partition: nope\n"
	_, err := ParseRules("f.yaml", []byte(doc))
	if err == nil {
		t.Fatal("no error")
	}
	// The unknown partition stops the rule list before validation; fix it and both of a's
	// problems are reported together.
	doc = strings.Replace(doc, "nope", "prefix", 1)
	_, err = ParseRules("f.yaml", []byte(doc))
	got := err.Error()
	for _, want := range []string{
		`limiter: f.yaml:4: rule "a": field "rate": must be > 0`,
		`limiter: f.yaml:5: rule "a": field "burst": must be > 0`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q lacks %q", got, want)
		}
	}
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(validYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := LoadRules(path)
	if err != nil || len(rs) != 5 {
		t.Fatalf("LoadRules = %d rules, %v", len(rs), err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - service: EC2\n    rate: 1\n    burst: -1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadRules(bad)
	if want := "limiter: " + bad + `:4: rule #1: field "burst": must be > 0`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if _, err := LoadRules(filepath.Join(dir, "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// A file named by mistake is refused before it is read: a device that never ends (/dev/zero),
// a directory, a file too large to be a rules file.
func TestLoadRulesRefusesWhatIsNotARulesFile(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	data := []byte("rules:\n" + strings.Repeat("# padding\n", MaxRulesFileBytes/10+1))
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/dev/zero": "limiter: read rules: /dev/zero: not a regular file",
		dir:         "limiter: read rules: " + dir + ": not a regular file",
		big:         fmt.Sprintf("limiter: read rules: %s: larger than %d bytes: not a rules file", big, MaxRulesFileBytes),
	} {
		if _, err := LoadRules(path); err == nil || err.Error() != want {
			t.Errorf("LoadRules(%s) = %v, want %s", path, err, want)
		}
	}
}

func TestValidateRulesBuiltInCode(t *testing.T) {
	rs := Rules{
		{Name: "ok", Service: "EC2", Operation: "Describe*", Rate: 20, Burst: 100},
		{Name: "ok", Service: "EC2", Operation: "Describe*", Rate: 20, Burst: 100},
		{Service: "S3", Rate: 1, Burst: 1, Partition: Partition(7)},
	}
	err := rs.Validate()
	for _, want := range []string{
		`limiter: rule "ok": field "name": duplicate rule name (also rule #1)`,
		`limiter: rule #3: field "partition": unknown scheme 7`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v lacks %q", err, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted invalid rules")
		}
	}()
	New(rs)
}

func TestDefaultRules(t *testing.T) {
	rs := DefaultRules()
	if err := rs.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Source == "" || r.Name == "" {
			t.Errorf("default rule %d (%s) has no source or name", i, r.Name)
		}
	}
	cases := []struct {
		service, op, region string
		name                string
		burst               int
		rate                float64
	}{
		{"EC2", "DescribeInstances", "us-east-1", "ec2-non-mutating", 100, 20},
		{"EC2", "DescribeInstances:unfiltered", "us-east-1", "ec2-unfiltered-describe", 50, 10},
		{"EC2", "DescribeVolumes:unfiltered", "us-east-1", "ec2-unfiltered-describe", 50, 10},
		{"EC2", "DescribeImages:unfiltered", "us-east-1", "ec2-non-mutating", 100, 20},
		{"EC2", "CreateVpc", "us-east-1", "ec2-mutating", 50, 5},
		{"EC2", "StopInstances", "us-east-1", "ec2-mutating", 50, 5},
		{"EC2", "AuthorizeSecurityGroupIngress", "us-east-1", "ec2-resource-intensive", 50, 5},
		{"EC2", "RunInstances", "us-east-1", "ec2-uncategorized-5-2", 5, 2},
		{"EC2", "StartInstances", "us-east-1", "ec2-uncategorized-5-2", 5, 2},
		{"EC2", "TerminateInstances", "us-east-1", "ec2-uncategorized-100-5", 100, 5},
		{"EC2", "CreateTags", "us-east-1", "ec2-uncategorized-100-10", 100, 10},
		{"EC2", "DescribeStoreImageTasks", "us-east-1", "ec2-uncategorized-50-0.5", 50, 0.5},
		{"S3", "GetObject", "us-east-1", "s3-read", 5500, 5500},
		{"S3", "HeadObject", "us-east-1", "s3-read", 5500, 5500},
		{"S3", "PutObject", "us-east-1", "s3-write", 3500, 3500},
		{"S3", "CopyObject", "us-east-1", "s3-write", 3500, 3500},
		{"S3", "DeleteObjects", "us-east-1", "s3-write", 3500, 3500},
		{"KMS", "Decrypt", "us-west-2", "kms-symmetric-100k", 100000, 100000},
		{"KMS", "Encrypt", "ap-southeast-2", "kms-symmetric-20k", 20000, 20000},
		{"KMS", "GenerateDataKey", "ca-central-1", "kms-symmetric", 10000, 10000},
		{"KMS", "DescribeKey", "us-east-1", "kms-2000", 2000, 2000},
		{"KMS", "CreateKey", "us-east-1", "kms-5", 5, 5},
		{"Lambda", "GetFunction", "us-east-1", "lambda-get-function", 100, 100},
		{"Lambda", "GetPolicy", "us-east-1", "lambda-get-policy", 15, 15},
		{"Lambda", "ListFunctions", "us-east-1", "lambda-control-plane", 15, 15},
		{"DynamoDB", "Query", "us-east-1", "dynamodb-read", 40000, 40000},
	}
	for _, c := range cases {
		r, ok := rs.Match(c.service, c.op, c.region)
		if !ok || r.Name != c.name || r.Burst != c.burst || r.Rate != c.rate {
			t.Errorf("%s %s in %s: rule %q %d/%v, want %q %d/%v", c.service, c.op, c.region, r.Name, r.Burst, r.Rate, c.name, c.burst, c.rate)
		}
	}
	units := map[string][2]float64{"RunInstances": {1000, 2}, "StartInstances": {1000, 2}, "TerminateInstances": {1000, 20}, "StopInstances": {1000, 20}}
	for op, want := range units {
		r, ok := rs.MatchUnits("EC2", op, "us-east-1")
		if !ok || float64(r.Burst) != want[0] || r.Rate != want[1] {
			t.Errorf("%s resource bucket = %+v, want %v/%v", op, r, want[0], want[1])
		}
	}
	if _, ok := rs.MatchUnits("EC2", "DescribeInstances", "us-east-1"); ok {
		t.Error("DescribeInstances has a resource bucket")
	}
	// DescribeInstances: a 100 burst refilling at 20/s, not 100 calls per second. Over 10
	// seconds at full speed: 100 + 20·10 = 300 calls, not 1,000.
	l := New(rs)
	k := Key{Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	admitted := 0
	for ms := 0; ms <= 10_000; ms++ {
		if ok, _ := l.Allow(at(time.Duration(ms)*time.Millisecond), k, 1); ok {
			admitted++
		}
	}
	if admitted != 300 {
		t.Errorf("DescribeInstances admitted %d calls in 10s, want 300", admitted)
	}
}

func TestKnownOperations(t *testing.T) {
	ops, ok := KnownOperations("ec2")
	if !ok || len(ops) < 500 {
		t.Fatalf("EC2 list: %d ops, %v", len(ops), ok)
	}
	if _, ok := KnownOperations("NoSuchService"); ok {
		t.Error("list for an unknown service")
	}
	// A service without a list accepts any glob.
	if err := (Rules{{Service: "NoSuchService", Operation: "Anything*", Rate: 1, Burst: 1}}).Validate(); err != nil {
		t.Error(err)
	}
}
