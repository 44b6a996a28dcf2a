package simulate

import (
	"errors"
	"fmt"
	"io"
	"math"
	pathpkg "path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate/tollgate/internal/boundedfile"
	"github.com/tollgate/tollgate/internal/yamlbound"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// ScenarioError is a problem in a scenario file: where (file, line, field path such as
// "groups[1].rate") and what.
type ScenarioError struct {
	File  string
	Line  int
	Field string
	Msg   string
	// Err is the error behind Msg, if any (a *RuleError naming a rules file's line).
	Err error
}

// Unwrap returns the error behind the problem, if any.
func (e *ScenarioError) Unwrap() error { return e.Err }

func (e *ScenarioError) Error() string {
	var b strings.Builder
	b.WriteString("simulate: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Bounds of a scenario file: its size, and the YAML nodes it stands for once its aliases are
// expanded. A scenario of a hundred groups takes a few thousand nodes; these bounds keep the
// parser's memory to tens of megabytes whatever the file holds.
const (
	MaxScenarioBytes = 1 << 20
	MaxScenarioNodes = 100_000
)

// LoadScenario reads a scenario file (see ParseScenario). A file larger than MaxScenarioBytes
// is refused without being read whole.
func LoadScenario(path string) (*Scenario, error) {
	data, err := boundedfile.Read(path, MaxScenarioBytes, "scenario")
	if err != nil {
		return nil, fmt.Errorf("simulate: read scenario: %w", err)
	}
	return ParseScenario(path, data, filepath.Dir(path))
}

// ParseScenario parses a scenario from YAML (the format is in the package documentation).
// name is used in errors; dir is where relative file references (rules, faults) are resolved
// ("" for the working directory). Every problem is reported with the file, line and field.
//
// Hostile input is bounded: data larger than MaxScenarioBytes, or whose YAML aliases expand
// it past MaxScenarioNodes nodes, is refused before it is walked; the rules and faults files
// it names are read with the same bounds (LoadRules, server.LoadFaults). Errors quote nothing
// from a file until it is known to be of the expected kind (a mapping with a scenario's
// fields, a rules file, a faults file), so that naming the wrong file never prints its content.
// ParseScenario validates the scenario but does not estimate its cost: Simulate does
// (Estimate, Options.Limits).
func ParseScenario(name string, data []byte, dir string) (sc *Scenario, err error) {
	if len(data) > MaxScenarioBytes {
		return nil, &ScenarioError{File: name, Msg: fmt.Sprintf("larger than %d bytes: not a scenario file", MaxScenarioBytes)}
	}
	root, line, err := yamlbound.Decode(data)
	if err == io.EOF {
		return nil, &ScenarioError{File: name, Msg: "empty scenario file"}
	}
	if err != nil {
		return nil, &ScenarioError{File: name, Line: line, Msg: err.Error()}
	}
	if !looksLikeScenario(root) {
		return nil, &ScenarioError{File: name, Line: root.Line, Msg: "not a scenario file: expected a YAML mapping with a scenario's fields (" +
			strings.Join(scenarioFields, ", ") + ")"}
	}
	if _, line, ok := yamlbound.Expanded(root, MaxScenarioNodes); !ok {
		return nil, &ScenarioError{File: name, Line: line,
			Msg: fmt.Sprintf("YAML aliases expand the scenario to more than %d nodes; write the values out or use fewer aliases", MaxScenarioNodes)}
	}
	p := &scenarioParser{file: name, dir: dir}
	s := &Scenario{Seed: 1, Runs: 1}
	p.scenario(root, s)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	if _, err := compile(s); err != nil {
		return nil, &ScenarioError{File: name, Msg: strings.TrimPrefix(err.Error(), "simulate: "), Err: err}
	}
	return s, nil
}

// looksLikeScenario reports whether root is a mapping with at least one of a scenario's fields:
// only then may errors quote the file (its unknown fields, its values).
func looksLikeScenario(root *yaml.Node) bool {
	if root.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Kind == yaml.ScalarNode && contains(scenarioFields, k.Value) {
			return true
		}
	}
	return false
}

type scenarioParser struct {
	file string
	dir  string
	errs []error
}

func (p *scenarioParser) fail(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &ScenarioError{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// fields walks a mapping node, calling set for each known key and reporting unknown or
// repeated keys. known lists the allowed keys.
func (p *scenarioParser) fields(n *yaml.Node, path string, known []string, set func(key string, k, v *yaml.Node, field string)) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		p.fail(n, path, "must be a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := k.Value
		if path != "" {
			field = path + "." + k.Value
		}
		if !contains(known, k.Value) {
			p.fail(k, field, "unknown field (known: %s)", strings.Join(known, ", "))
			continue
		}
		if seen[k.Value] {
			p.fail(k, field, "given twice")
			continue
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		set(k.Value, k, v, field)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *scenarioParser) scalar(v *yaml.Node, field string) (string, bool) {
	if v == nil || v.Kind != yaml.ScalarNode {
		p.fail(v, field, "must be a single value")
		return "", false
	}
	return v.Value, true
}

func (p *scenarioParser) str(v *yaml.Node, field string, dst *string) {
	if s, ok := p.scalar(v, field); ok {
		*dst = s
	}
}

func (p *scenarioParser) duration(v *yaml.Node, field string, dst *time.Duration) {
	s, ok := p.scalar(v, field)
	if !ok {
		return
	}
	if s == "0" {
		*dst = 0
		return
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.fail(v, field, "want a duration >= 0 such as 200ms, 30s or 2m, not %q", s)
		return
	}
	*dst = d
}

func (p *scenarioParser) float(v *yaml.Node, field string, dst *float64) {
	s, ok := p.scalar(v, field)
	if !ok {
		return
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		p.fail(v, field, "want a number >= 0, not %q", s)
		return
	}
	*dst = f
}

func (p *scenarioParser) integer(v *yaml.Node, field string, dst *int) {
	s, ok := p.scalar(v, field)
	if !ok {
		return
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		p.fail(v, field, "want a whole number >= 0, not %q", s)
		return
	}
	*dst = n
}

func (p *scenarioParser) boolean(v *yaml.Node, field string, dst *bool) {
	s, ok := p.scalar(v, field)
	if !ok {
		return
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.fail(v, field, "want true or false, not %q", s)
		return
	}
	*dst = b
}

func (p *scenarioParser) list(v *yaml.Node, field string) []*yaml.Node {
	if v == nil || v.Kind != yaml.SequenceNode {
		p.fail(v, field, "must be a list")
		return nil
	}
	return v.Content
}

func (p *scenarioParser) path(rel string) string {
	if filepath.IsAbs(rel) || p.dir == "" {
		return rel
	}
	return filepath.Join(p.dir, rel)
}

var scenarioFields = []string{"name", "description", "duration", "seed", "runs", "max_attempts", "max_call_duration", "strategies", "server", "tollgate", "store", "groups"}

func (p *scenarioParser) scenario(n *yaml.Node, s *Scenario) {
	var lines struct{ duration, groups int }
	p.fields(n, "", scenarioFields, func(key string, k, v *yaml.Node, field string) {
		switch key {
		case "name":
			p.str(v, field, &s.Name)
		case "description":
			p.str(v, field, &s.Description)
		case "duration":
			lines.duration = k.Line
			p.duration(v, field, &s.Duration)
		case "seed":
			if str, ok := p.scalar(v, field); ok {
				seed, err := strconv.ParseUint(str, 10, 64)
				if err != nil {
					p.fail(v, field, "want a whole number >= 0, not %q", str)
				}
				s.Seed = seed
			}
		case "runs":
			p.integer(v, field, &s.Runs)
			if s.Runs == 0 {
				p.fail(v, field, "must be >= 1")
			}
		case "max_attempts":
			p.integer(v, field, &s.MaxAttempts)
		case "max_call_duration":
			p.duration(v, field, &s.MaxCallDuration)
		case "strategies":
			for i, item := range p.list(v, field) {
				f := fmt.Sprintf("%s[%d]", field, i)
				if name, ok := p.scalar(item, f); ok {
					if _, err := NewStrategy(name, StrategyOptions{}); err != nil {
						p.fail(item, f, "%s", strings.TrimPrefix(err.Error(), "simulate: "))
						continue
					}
					if contains(s.Strategies, name) {
						p.fail(item, f, "strategy %q given twice", name)
						continue
					}
					s.Strategies = append(s.Strategies, name)
				}
			}
		case "server":
			p.server(v, field, &s.Server, s)
		case "tollgate":
			p.fields(v, field, []string{"rules"}, func(key string, k, v *yaml.Node, field string) {
				var ref string
				p.str(v, field, &ref)
				if ref == "server" {
					p.fail(v, field, `"server" would hand tollgate the server's rules, which no real install knows: compare the tollgate-oracle strategy instead (rules: defaults or a rules file)`)
					return
				}
				if ref != "" && ref != "defaults" {
					if f, err := loadRulesFile(p.path(ref)); err != nil {
						p.fail(v, field, "%v", err)
					} else {
						s.TollgateRules, s.tollgateRulesFile = f.rules, f
					}
				}
			})
		case "store":
			p.store(v, field, &s.Store)
		case "groups":
			lines.groups = k.Line
			for i, item := range p.list(v, field) {
				var g Group
				p.group(item, fmt.Sprintf("%s[%d]", field, i), &g)
				s.Groups = append(s.Groups, g)
			}
		}
	})
	if len(p.errs) > 0 {
		return
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(p.file), filepath.Ext(p.file))
	}
	if s.Duration <= 0 {
		p.fail(&yaml.Node{Line: max(lines.duration, n.Line)}, "duration", "required, > 0")
	}
	if len(s.Groups) == 0 {
		p.fail(&yaml.Node{Line: max(lines.groups, n.Line)}, "groups", "required: at least one client group")
	}
}

func (p *scenarioParser) server(n *yaml.Node, path string, sv *ServerSpec, s *Scenario) {
	p.fields(n, path, []string{"rules", "faults", "s3", "capacity", "hints"}, func(key string, k, v *yaml.Node, field string) {
		switch key {
		case "rules":
			var ref string
			p.str(v, field, &ref)
			if ref == "" || ref == "defaults" {
				return
			}
			f, err := loadRulesFile(p.path(ref))
			if err != nil {
				p.fail(v, field, "%v", err)
				return
			}
			sv.Rules, s.serverRulesFile = server.MergeRules(limiter.DefaultRules(), f.rules), f
		case "faults":
			var ref string
			p.str(v, field, &ref)
			if ref == "" {
				return
			}
			f, err := server.LoadFaults(p.path(ref))
			if err != nil {
				p.fail(v, field, "%v", err)
				return
			}
			sv.Faults = f
		case "s3":
			p.fields(v, field, []string{"split_after", "split_delay"}, func(key string, k, v *yaml.Node, field string) {
				if key == "split_after" {
					p.duration(v, field, &sv.SplitAfter)
				} else {
					p.duration(v, field, &sv.SplitDelay)
				}
			})
		case "capacity":
			sched := &server.CapacitySchedule{}
			for i, item := range p.list(v, field) {
				var st server.CapacityStep
				f := fmt.Sprintf("%s[%d]", field, i)
				p.fields(item, f, []string{"service", "operation", "region", "start", "rate", "burst", "outage"}, func(key string, k, v *yaml.Node, field string) {
					switch key {
					case "service":
						p.str(v, field, &st.Service)
					case "operation":
						p.str(v, field, &st.Operation)
					case "region":
						p.str(v, field, &st.Region)
					case "start":
						p.duration(v, field, &st.Start)
					case "rate":
						p.float(v, field, &st.Rate)
					case "burst":
						p.integer(v, field, &st.Burst)
					case "outage":
						p.boolean(v, field, &st.Outage)
					}
				})
				one := server.CapacitySchedule{Steps: []server.CapacityStep{st}}
				if err := one.Validate(); err != nil {
					p.fail(item, f, "%s", strings.TrimPrefix(err.Error(), "server: capacity step 1: "))
				}
				sched.Steps = append(sched.Steps, st)
			}
			sv.Capacity = sched
		case "hints":
			for i, item := range p.list(v, field) {
				f := fmt.Sprintf("%s[%d]", field, i)
				if h, ok := p.hint(item, f); ok {
					sv.Hints = append(sv.Hints, h)
				}
			}
		}
	})
}

// hint parses one of server.hints: {service, operation, header, after, form}. header "none"
// turns hints off for the requests the entry matches; form defaults to seconds for Retry-After
// and milliseconds for x-amz-retry-after.
func (p *scenarioParser) hint(n *yaml.Node, path string) (server.Hint, bool) {
	errs := len(p.errs)
	var h server.Hint
	var form string
	p.fields(n, path, []string{"service", "operation", "header", "after", "form"}, func(key string, k, v *yaml.Node, field string) {
		switch key {
		case "service":
			p.str(v, field, &h.Service)
		case "operation":
			p.str(v, field, &h.Operation)
		case "header":
			p.str(v, field, &h.Header)
		case "after":
			p.duration(v, field, &h.After)
		case "form":
			p.str(v, field, &form)
		}
	})
	if len(p.errs) > errs {
		return h, false
	}
	switch {
	case strings.EqualFold(h.Header, "none"):
		h.Header = ""
	case form != "":
		f, ok := server.ParseHintForm(form)
		if !ok {
			p.fail(n, path+".form", "want seconds, http-date or milliseconds, not %q", form)
			return h, false
		}
		h.Form = f
	case strings.EqualFold(h.Header, server.HeaderAmzRetryAfter):
		h.Form = server.HintMilliseconds
	default:
		h.Form = server.HintSeconds
	}
	if err := h.Validate(); err != nil {
		field, msg := path, err.Error()
		if f, rest, ok := strings.Cut(msg, `": `); ok && strings.HasPrefix(f, `field "`) {
			field, msg = path+"."+strings.TrimPrefix(f, `field "`), rest
		}
		p.fail(n, field, "%s", msg)
		return h, false
	}
	h.Source = "scenario " + p.file
	return h, true
}

var groupFields = []string{"name", "loop", "processes", "rate", "phases", "workers", "think", "start", "stop", "timeout", "rtt", "jitter", "operations"}

func (p *scenarioParser) group(n *yaml.Node, path string, g *Group) {
	errs := len(p.errs)
	p.fields(n, path, groupFields, func(key string, k, v *yaml.Node, field string) {
		switch key {
		case "name":
			p.str(v, field, &g.Name)
		case "loop":
			var s string
			p.str(v, field, &s)
			switch s {
			case "open":
				g.Loop = OpenLoop
			case "closed":
				g.Loop = ClosedLoop
			default:
				p.fail(v, field, "want open or closed, not %q", s)
			}
		case "processes":
			p.integer(v, field, &g.Processes)
		case "rate":
			p.float(v, field, &g.Rate)
		case "phases":
			for i, item := range p.list(v, field) {
				var ph Phase
				p.fields(item, fmt.Sprintf("%s[%d]", field, i), []string{"at", "rate"}, func(key string, k, v *yaml.Node, field string) {
					if key == "at" {
						p.duration(v, field, &ph.At)
					} else {
						p.float(v, field, &ph.Rate)
					}
				})
				if i > 0 && ph.At <= g.Phases[i-1].At {
					p.fail(item, fmt.Sprintf("%s[%d].at", field, i), "phases must be in increasing order of at")
				}
				g.Phases = append(g.Phases, ph)
			}
		case "workers":
			p.integer(v, field, &g.Workers)
		case "think":
			p.duration(v, field, &g.Think)
		case "start":
			p.duration(v, field, &g.Start)
		case "stop":
			p.duration(v, field, &g.Stop)
		case "timeout":
			p.duration(v, field, &g.Timeout)
		case "rtt":
			p.duration(v, field, &g.RTT)
		case "jitter":
			p.duration(v, field, &g.Jitter)
		case "operations":
			for i, item := range p.list(v, field) {
				var op Operation
				p.operation(item, fmt.Sprintf("%s[%d]", field, i), &op)
				g.Operations = append(g.Operations, op)
			}
		}
	})
	if len(p.errs) > errs {
		return
	}
	switch {
	case g.Name == "":
		p.fail(n, path+".name", "required")
	case g.Loop == 0:
		p.fail(n, path+".loop", "required: open or closed")
	case g.Loop == OpenLoop && g.Rate == 0 && len(g.Phases) == 0:
		p.fail(n, path+".rate", "an open-loop group needs a rate (calls per second) or phases")
	case g.Loop == ClosedLoop && g.Workers == 0:
		p.fail(n, path+".workers", "a closed-loop group needs workers > 0")
	case len(g.Operations) == 0:
		p.fail(n, path+".operations", "required: at least one operation")
	}
}

var operationFields = []string{"service", "operation", "region", "resource", "prefixes", "unfiltered", "units", "weight", "alone"}

func (p *scenarioParser) operation(n *yaml.Node, path string, op *Operation) {
	errs := len(p.errs)
	p.fields(n, path, operationFields, func(key string, k, v *yaml.Node, field string) {
		switch key {
		case "service":
			p.str(v, field, &op.Service)
		case "operation":
			p.str(v, field, &op.Operation)
		case "region":
			p.str(v, field, &op.Region)
		case "resource":
			p.str(v, field, &op.Resource)
		case "prefixes":
			for i, item := range p.list(v, field) {
				var s string
				p.str(item, fmt.Sprintf("%s[%d]", field, i), &s)
				op.Prefixes = append(op.Prefixes, s)
			}
		case "unfiltered":
			p.boolean(v, field, &op.Unfiltered)
		case "units":
			p.integer(v, field, &op.Units)
		case "weight":
			p.float(v, field, &op.Weight)
		case "alone":
			p.boolean(v, field, &op.Alone)
		}
	})
	if len(p.errs) > errs {
		return
	}
	switch {
	case op.Service == "":
		p.fail(n, path+".service", "required (an AWS SDK ServiceID such as EC2 or S3)")
	case op.Operation == "":
		p.fail(n, path+".operation", "required (an API name such as DescribeInstances)")
	}
}

var storeFields = []string{"rtt", "timeout", "lease", "fallback_share", "fail_closed", "outages", "restarts", "rules"}

// store parses the fleet store of the tollgate-fleet strategy.
func (p *scenarioParser) store(n *yaml.Node, path string, st *StoreSpec) {
	errs := len(p.errs)
	p.fields(n, path, storeFields, func(key string, k, v *yaml.Node, field string) {
		switch key {
		case "rtt":
			p.duration(v, field, &st.RTT)
		case "timeout":
			p.duration(v, field, &st.Timeout)
		case "lease":
			p.duration(v, field, &st.Lease)
		case "fallback_share":
			p.float(v, field, &st.FallbackShare)
			if st.FallbackShare > 1 {
				p.fail(v, field, "a share of the bucket: between 0 and 1 (0: 1/n of the fleet)")
			}
		case "fail_closed":
			p.boolean(v, field, &st.FailClosed)
		case "outages":
			for i, item := range p.list(v, field) {
				var o StoreOutage
				f := fmt.Sprintf("%s[%d]", field, i)
				p.fields(item, f, []string{"from", "to"}, func(key string, k, v *yaml.Node, field string) {
					if key == "from" {
						p.duration(v, field, &o.From)
					} else {
						p.duration(v, field, &o.To)
					}
				})
				if o.To <= o.From {
					p.fail(item, f, "to (%v) must be after from (%v)", o.To, o.From)
				}
				st.Outages = append(st.Outages, o)
			}
		case "restarts":
			for i, item := range p.list(v, field) {
				var d time.Duration
				p.duration(item, fmt.Sprintf("%s[%d]", field, i), &d)
				st.Restarts = append(st.Restarts, d)
			}
		case "rules":
			for i, item := range p.list(v, field) {
				var g string
				p.str(item, fmt.Sprintf("%s[%d]", field, i), &g)
				if _, err := pathpkg.Match(g, ""); err != nil {
					p.fail(item, fmt.Sprintf("%s[%d]", field, i), "bad glob %q: %v", g, err)
				}
				st.Rules = append(st.Rules, g)
			}
		}
	})
	if len(p.errs) > errs {
		return
	}
	if err := st.Validate(); err != nil {
		p.fail(n, path, "%s", strings.TrimPrefix(err.Error(), "simulate: store "))
	}
}
