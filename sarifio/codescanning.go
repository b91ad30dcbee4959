package sarifio

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// CodeScanningProblems checks a SARIF log against what GitHub code
// scanning documents and enforces beyond the SARIF schema ("SARIF support
// for code scanning", and what its upload refuses):
//
//   - every rule has fullDescription.text and help.text (the alert page
//     shows both);
//   - every result has a location with a physicalLocation: code scanning
//     refuses the whole file for a result with none ("expected at least
//     one location") or with only a logical one ("expected a physical
//     location");
//   - every artifactLocation.uri is a relative reference to a file: no
//     scheme, no colon, not absolute;
//   - every location in a file has a region with a startLine, which is
//     where code scanning anchors the alert.
//
// It returns one line per problem, naming where it is; none for a good
// log. Data that is not a SARIF log is one problem.
func CodeScanningProblems(data []byte) []string {
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID              string `json:"id"`
						FullDescription *struct {
							Text string `json:"text"`
						} `json:"fullDescription"`
						Help *struct {
							Text string `json:"text"`
						} `json:"help"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation *struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region *struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		return []string{"not a SARIF log: " + err.Error()}
	}
	var out []string
	for i, run := range log.Runs {
		for j, r := range run.Tool.Driver.Rules {
			if r.FullDescription == nil || strings.TrimSpace(r.FullDescription.Text) == "" {
				out = append(out, fmt.Sprintf("runs[%d] rule %d (%s): no fullDescription.text", i, j, r.ID))
			}
			if r.Help == nil || strings.TrimSpace(r.Help.Text) == "" {
				out = append(out, fmt.Sprintf("runs[%d] rule %d (%s): no help.text", i, j, r.ID))
			}
		}
		for j, res := range run.Results {
			where := fmt.Sprintf("runs[%d] result %d (%s)", i, j, res.RuleID)
			if len(res.Locations) == 0 {
				out = append(out, where+": no location")
			}
			for k, l := range res.Locations {
				pl := l.PhysicalLocation
				switch {
				case pl == nil:
					out = append(out, fmt.Sprintf("%s location %d: no physicalLocation", where, k))
					continue
				case pl.ArtifactLocation == nil || pl.ArtifactLocation.URI == "":
					out = append(out, fmt.Sprintf("%s location %d: no artifactLocation.uri", where, k))
					continue
				}
				if why := uriProblem(pl.ArtifactLocation.URI); why != "" {
					out = append(out, fmt.Sprintf("%s location %d: uri %q %s", where, k, pl.ArtifactLocation.URI, why))
				}
				if pl.Region == nil || pl.Region.StartLine < 1 {
					out = append(out, fmt.Sprintf("%s location %d: file %s without a region", where, k, pl.ArtifactLocation.URI))
				}
			}
		}
	}
	return out
}

// uriProblem says why a uri is not a relative reference to a file of the
// checkout; "" when it is one.
func uriProblem(uri string) string {
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		return "does not parse: " + err.Error()
	case u.Scheme != "" || strings.Contains(uri, ":"):
		return "holds a scheme or a colon"
	case strings.HasPrefix(uri, "/") || u.Host != "":
		return "is absolute"
	}
	return ""
}
