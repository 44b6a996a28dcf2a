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
