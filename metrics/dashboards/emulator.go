package dashboards

import "fmt"

// Emulator builds "tollgate: emulator (server side)" (uid tollgate-emulator), the dashboard of
// what tollgate's AWS emulator answered (tollgate_emulator_requests_total), to set beside what
// the clients saw during a `tollgate-live load` run.
func Emulator() (Dashboard, error) {
	const requests = "tollgate_emulator_requests_total"
	sel := selector()
	api := "aws_service, operation"
	apiLegend := "{{aws_service}} {{operation}}"
	b := newDashboard("tollgate-emulator", "tollgate: emulator (server side)",
		"Requests tollgate's AWS emulator answered, by result: the server's view of a load run.", requests)
	b = b.WithRow(row("Requests")).
		WithPanel(stacked(timeSeries("Requests by result", "Requests answered per second: accepted, throttled, failed.", "reqps", thirdSize,
			query(sumRate("result", requests, sel), "{{result}}")))).
		WithPanel(stacked(timeSeries("Requests by operation", "Requests answered per second, by API.", "reqps", thirdSize,
			query(sumRate(api, requests, sel), apiLegend)))).
		WithPanel(timeSeries("Server throttle ratio", "Share of each API's requests the emulator throttled.", "percentunit", thirdSize,
			query(fmt.Sprintf("%s / %s", sumRate(api, requests, selector(`result="throttled"`)), sumRate(api, requests, sel)), apiLegend)).Max(1))
	return build("tollgate-emulator", b)
}
