package main

import (
	"fmt"
	"strings"
)

// Inputs of the issue-15 tables: traces, scenarios and rules files a careless or hostile user
// gives tollgate.

// slowRules is a rules file whose one rule refills at the given rate (line 5: "rate").
const slowRules = "rules:\n  - name: slow\n    service: EC2\n    operation: DescribeInstances\n    rate: %s\n    burst: 1\n"

// openLoopGroup is a scenario's one open-loop group calling at the given rate.
const openLoopGroup = "groups:\n  - name: g\n    loop: open\n    rate: %s\n    operations:\n      - {service: EC2, operation: DescribeInstances}\n"

// A password file, an ini file with a key: what a user may name by mistake. Their content
// must never be quoted.
const (
	shadowFile = "root:$6$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
	iniFile    = "[default]\naws_secret_access_key = SECRETKEY\n"
)

// scenarioBomb builds a scenario whose groups, operations and prefixes are aliases of aliases:
// groups × operations × prefixes variants from a file of a few kilobytes.
func scenarioBomb(groups, ops, prefixes int) string {
	var b strings.Builder
	b.WriteString("name: bomb\nduration: 1s\ngroups:\n  - &g\n    name: g\n    loop: open\n    rate: 1\n    operations: &ops\n")
	b.WriteString("      - &op {service: S3, operation: GetObject, resource: b, prefixes: [")
	for i := range prefixes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "p%d/", i)
	}
	b.WriteString("]}\n")
	for i := 1; i < ops; i++ {
		b.WriteString("      - *op\n")
	}
	for i := 1; i < groups; i++ {
		b.WriteString("  - *g\n")
	}
	return b.String()
}

// billionLaughs is a scenario with a field holding lists of aliases of lists, depth deep.
func billionLaughs(width, depth int) string {
	var b strings.Builder
	b.WriteString("duration: 1s\ndescription: &l0 lol\nstrategies: [tollgate]\nname: &n0 [*l0")
	for i := 1; i < width; i++ {
		b.WriteString(", *l0")
	}
	b.WriteString("]\n")
	for d := 1; d <= depth; d++ {
		fmt.Fprintf(&b, "x%d: &n%d [", d, d)
		for i := range width {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*n%d", d-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// rulesBomb is a limiter rules file whose aliases expand to ten billion nodes.
func rulesBomb() string {
	var b strings.Builder
	b.WriteString("rules: []\nx0: &x0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "x%d: &x%d [*x%d, *x%d, *x%d, *x%d, *x%d, *x%d, *x%d, *x%d, *x%d, *x%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

// kib names a file by its size, as the issue does ("a 1.7 KB scenario").
func kib(s string) string { return fmt.Sprintf("%.1f KB", float64(len(s))/1000) }
