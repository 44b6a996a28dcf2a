package simulate

import (
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// ScenarioFiles returns the files scenario data found in directory dir names — its server's
// rules and faults, tollgate's rules — so that a command never writes its outputs over them.
// Keywords such as "defaults" are returned too (as paths in dir): callers ignore names that are
// not files. A broken scenario returns what could be read (ParseScenario reports the problem).
func ScenarioFiles(data []byte, dir string) []string {
	var refs struct {
		Server struct {
			Rules  string `yaml:"rules"`
			Faults string `yaml:"faults"`
		} `yaml:"server"`
		Tollgate struct {
			Rules string `yaml:"rules"`
		} `yaml:"tollgate"`
	}
	if len(data) > MaxScenarioBytes {
		return nil
	}
	_ = yaml.Unmarshal(data, &refs)
	var out []string
	for _, ref := range []string{refs.Server.Rules, refs.Server.Faults, refs.Tollgate.Rules} {
		if ref == "" {
			continue
		}
		if !filepath.IsAbs(ref) {
			ref = filepath.Join(dir, ref)
		}
		out = append(out, ref)
	}
	return out
}
