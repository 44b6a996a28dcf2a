package dashboards

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// Provisioning configures the files WriteFiles writes next to the dashboards.
type Provisioning struct {
	// PrometheusURL is the URL Grafana reaches Prometheus at. "" means http://127.0.0.1:9090.
	PrometheusURL string
	// DashboardsPath is the directory of the dashboard JSON files as Grafana sees it (it may
	// run in a container). "" means the absolute path of DIR/dashboards.
	DashboardsPath string
	// Targets are the host:port addresses Prometheus scrapes (`tollgate-live load` serves
	// 127.0.0.1:9464 by default). Empty means 127.0.0.1:9464.
	Targets []string
	// Job is the Prometheus job name of the targets. "" means "tollgate".
	Job string
	// ScrapeInterval is how often Prometheus scrapes. 0 means 5s.
	ScrapeInterval time.Duration
}

// Files written by WriteFiles, relative to its directory.
const (
	DashboardsDir          = "dashboards"
	GrafanaDashboardsFile  = "grafana/provisioning/dashboards/tollgate.yaml"
	GrafanaDatasourcesFile = "grafana/provisioning/datasources/tollgate.yaml"
	PrometheusConfigFile   = "prometheus/prometheus.yml"
)

// DatasourceUID is the uid of the Prometheus data source the provisioning file declares.
const DatasourceUID = "tollgate-prometheus"

// DefaultTarget is the address `tollgate-live load` serves /metrics on by default.
const DefaultTarget = "127.0.0.1:9464"

func (p Provisioning) withDefaults(dir string) (Provisioning, error) {
	if p.PrometheusURL == "" {
		p.PrometheusURL = "http://127.0.0.1:9090"
	}
	if u, err := url.Parse(p.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return p, fmt.Errorf("dashboards: Prometheus URL %q: want http(s)://host:port", p.PrometheusURL)
	}
	if p.DashboardsPath == "" {
		abs, err := filepath.Abs(filepath.Join(dir, DashboardsDir))
		if err != nil {
			return p, fmt.Errorf("dashboards: %w", err)
		}
		p.DashboardsPath = abs
	}
	if len(p.Targets) == 0 {
		p.Targets = []string{DefaultTarget}
	}
	for _, t := range p.Targets {
		if _, port, err := net.SplitHostPort(t); err != nil || port == "" {
			return p, fmt.Errorf("dashboards: scrape target %q: want host:port", t)
		}
	}
	if p.Job == "" {
		p.Job = "tollgate"
	}
	if p.ScrapeInterval == 0 {
		p.ScrapeInterval = 5 * time.Second
	}
	if p.ScrapeInterval < time.Second || p.ScrapeInterval%time.Second != 0 {
		return p, fmt.Errorf("dashboards: scrape interval %v: want whole seconds, at least 1s", p.ScrapeInterval)
	}
	return p, nil
}

// WriteFiles writes every dashboard to dir/dashboards/UID.json, Grafana provisioning files for
// them and for a Prometheus data source under dir/grafana/provisioning, and a Prometheus
// configuration scraping p.Targets to dir/prometheus/prometheus.yml. It returns the paths
// written, relative to dir.
func WriteFiles(dir string, p Provisioning) ([]string, error) {
	p, err := p.withDefaults(dir)
	if err != nil {
		return nil, err
	}
	ds, err := All()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var order []string
	add := func(name string, data []byte) {
		files[name] = data
		order = append(order, name)
	}
	for _, d := range ds {
		b, err := d.JSON()
		if err != nil {
			return nil, err
		}
		add(filepath.Join(DashboardsDir, d.FileName()), b)
	}
	for _, f := range []struct {
		name, comment string
		doc           any
	}{
		{GrafanaDashboardsFile, "Grafana dashboard provider for tollgate's dashboards (copy into Grafana's provisioning/dashboards).", p.dashboardProvider()},
		{GrafanaDatasourcesFile, "Grafana data source for tollgate's dashboards (copy into Grafana's provisioning/datasources).", p.datasource()},
		{PrometheusConfigFile, "Prometheus configuration scraping tollgate's /metrics (prometheus --config.file=THIS).", p.prometheusConfig()},
	} {
		b, err := yaml.Marshal(f.doc)
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", f.name, err)
		}
		add(f.name, append([]byte("# Written by `tollgate-live dashboard`. "+f.comment+"\n"), b...))
	}
	for _, name := range order {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("dashboards: %w", err)
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return nil, fmt.Errorf("dashboards: %w", err)
		}
	}
	return order, nil
}

// Grafana's provisioning formats (docs: administration/provisioning).

type providerFile struct {
	APIVersion int        `yaml:"apiVersion"`
	Providers  []provider `yaml:"providers"`
}

type provider struct {
	Name                  string          `yaml:"name"`
	OrgID                 int             `yaml:"orgId"`
	Folder                string          `yaml:"folder"`
	Type                  string          `yaml:"type"`
	DisableDeletion       bool            `yaml:"disableDeletion"`
	AllowUIUpdates        bool            `yaml:"allowUiUpdates"`
	UpdateIntervalSeconds int             `yaml:"updateIntervalSeconds"`
	Options               providerOptions `yaml:"options"`
}

type providerOptions struct {
	Path string `yaml:"path"`
}

func (p Provisioning) dashboardProvider() providerFile {
	return providerFile{APIVersion: 1, Providers: []provider{{
		Name: "tollgate", OrgID: 1, Folder: "tollgate", Type: "file", AllowUIUpdates: true,
		UpdateIntervalSeconds: 30, Options: providerOptions{Path: p.DashboardsPath},
	}}}
}

type datasourceFile struct {
	APIVersion  int                `yaml:"apiVersion"`
	Datasources []datasourceConfig `yaml:"datasources"`
}

type datasourceConfig struct {
	Name      string            `yaml:"name"`
	UID       string            `yaml:"uid"`
	Type      string            `yaml:"type"`
	Access    string            `yaml:"access"`
	URL       string            `yaml:"url"`
	IsDefault bool              `yaml:"isDefault"`
	JSONData  map[string]string `yaml:"jsonData"`
}

func (p Provisioning) datasource() datasourceFile {
	return datasourceFile{APIVersion: 1, Datasources: []datasourceConfig{{
		Name: "Prometheus (tollgate)", UID: DatasourceUID, Type: "prometheus", Access: "proxy",
		URL: p.PrometheusURL, IsDefault: true,
		// The scrape interval lets Grafana compute $__rate_interval right.
		JSONData: map[string]string{"timeInterval": p.ScrapeInterval.String()},
	}}}
}

type prometheusConfig struct {
	Global        promGlobal     `yaml:"global"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string `yaml:"scrape_interval"`
	EvaluationInterval string `yaml:"evaluation_interval"`
}

type scrapeConfig struct {
	JobName       string         `yaml:"job_name"`
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type staticConfig struct {
	Targets []string `yaml:"targets"`
}

func (p Provisioning) prometheusConfig() prometheusConfig {
	iv := fmt.Sprintf("%ds", int(p.ScrapeInterval/time.Second))
	return prometheusConfig{
		Global:        promGlobal{ScrapeInterval: iv, EvaluationInterval: iv},
		ScrapeConfigs: []scrapeConfig{{JobName: p.Job, StaticConfigs: []staticConfig{{Targets: p.Targets}}}},
	}
}
