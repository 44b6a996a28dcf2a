package simulate

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
)

//go:embed scenarios/*.yaml
var embedded embed.FS

// DefaultScenarioName is the scenario `tollgate simulate` runs without arguments.
const DefaultScenarioName = "default"

// EmbeddedScenarios lists the scenarios built into tollgate, by name ("default", ...).
func EmbeddedScenarios() []string {
	entries, _ := embedded.ReadDir("scenarios")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// ScenarioInfo names a built-in scenario and says in one line what it shows.
type ScenarioInfo struct {
	Name        string // what `tollgate simulate NAME` takes
	Description string // the scenario's description
}

// EmbeddedScenarioList lists the scenarios built into tollgate with their one-line descriptions,
// in the order of EmbeddedScenarios (for `tollgate simulate --help`).
func EmbeddedScenarioList() []ScenarioInfo {
	var out []ScenarioInfo
	for _, name := range EmbeddedScenarios() {
		info := ScenarioInfo{Name: name}
		if s, _, err := EmbeddedScenario(name); err == nil {
			info.Description = s.Description
		}
		out = append(out, info)
	}
	return out
}

// EmbeddedScenario returns a built-in scenario by name, and its YAML source.
func EmbeddedScenario(name string) (*Scenario, []byte, error) {
	file := path.Join("scenarios", name+".yaml")
	data, err := embedded.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("simulate: no built-in scenario %q (built in: %s)", name, strings.Join(EmbeddedScenarios(), ", "))
	}
	s, err := ParseScenario(file, data, "")
	return s, data, err
}
