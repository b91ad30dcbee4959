package policies

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/stages"
)

// ToolPolicy is one tool's own settings within a stage (the stage's
// per_tool key). A zero field keeps the stage's setting.
type ToolPolicy struct {
	// Timeout replaces the stage's timeout for this tool.
	Timeout time.Duration
	// OnError set to ErrorWarn lets this tool's failure (a crash, a kill, a
	// timeout, no report or an unreadable one) warn instead of erroring the
	// stage. It is the only way a tool error can pass a gate: a policy has to
	// name the tool, and the report then says the error was allowed.
	OnError ErrorAction
	// Config is the tool's configuration file, relative to the source, in
	// place of the one the tool would find there (bandit.yaml, trivy.yaml).
	Config string
}

// ToolError is one tool's failure as a gate sees it: the tool's on_error
// decides whether it errors the stage (the default) or only warns.
type ToolError struct {
	Tool string
	// Target is the part of the source the run covered (a Go module's
	// folder), when the tool runs once per part; "" for the whole source.
	Target string
	Err    error
}

func (e *ToolError) Error() string {
	if e.Target != "" {
		return e.Tool + " (" + e.Target + "): " + e.Err.Error()
	}
	return e.Tool + ": " + e.Err.Error()
}
func (e *ToolError) Unwrap() error { return e.Err }

// ToolTimeouts are the per-tool timeouts that differ from the stage's, for
// stages.Options.
func (sp StagePolicy) ToolTimeouts() map[string]time.Duration {
	var out map[string]time.Duration
	for tool, tp := range sp.PerTool {
		if tp.Timeout > 0 {
			if out == nil {
				out = map[string]time.Duration{}
			}
			out[tool] = tp.Timeout
		}
	}
	return out
}

// ToolConfigs are the per-tool configuration files, for stages.Options.
func (sp StagePolicy) ToolConfigs() map[string]string {
	var out map[string]string
	for tool, tp := range sp.PerTool {
		if tp.Config != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[tool] = tp.Config
		}
	}
	return out
}

// ToolErrorAction is what a failure of tool does to the stage. Only a
// per_tool on_error: warn relaxes it; anything else fails closed.
func (sp StagePolicy) ToolErrorAction(tool string) ErrorAction {
	if sp.PerTool[tool].OnError == ErrorWarn {
		return ErrorWarn
	}
	return ErrorBlock
}

// AllowedToolError is the policy setting that let tool's error pass, as the
// report quotes it, or "" when its error blocks.
func (sp StagePolicy) AllowedToolError(tool string) string {
	if sp.ToolErrorAction(tool) != ErrorWarn {
		return ""
	}
	return fmt.Sprintf("per_tool.%s.on_error: warn", tool)
}

// splitToolErrors separates the errors sp allows (a ToolError of a tool
// whose on_error is warn) from those that error the stage; an error not
// tied to a tool never passes.
func splitToolErrors(sp StagePolicy, errs []error) (blocking, allowed []error) {
	for _, err := range errs {
		var te *ToolError
		if err != nil && errors.As(err, &te) && sp.ToolErrorAction(te.Tool) == ErrorWarn {
			allowed = append(allowed, err)
			continue
		}
		blocking = append(blocking, err)
	}
	return blocking, allowed
}

var perToolKeys = []string{"timeout", "on_error", "config"}

// perTool reads a stage's per_tool mapping: tool name to its settings.
func (p *parser) perTool(stage string, v *yaml.Node, at string) *map[string]ToolPolicy {
	m := p.mappingOf(v, at, "a mapping of tools to settings, such as {gosec: {timeout: 5m}}")
	if m == nil {
		return nil
	}
	n := len(p.errs)
	out := map[string]ToolPolicy{}
	p.mapping(m, "in "+at, nil, "", func(tool string, k, v *yaml.Node) bool {
		where := at + "." + tool
		if err := stages.CheckTools(stage, []string{tool}); err != nil {
			p.errorf(k, "%s: %v", at, err)
			return true
		}
		tm := resolve(v)
		if tm.Kind != yaml.MappingNode {
			p.errorf(v, "%s: want a mapping with %s, got %s", where, "timeout, on_error or config", describe(tm))
			return true
		}
		var tp ToolPolicy
		p.mapping(tm, "in "+where, perToolKeys, "known", func(key string, _, v *yaml.Node) bool {
			switch key {
			case "timeout":
				if d := p.duration(v, where+".timeout"); d != nil {
					tp.Timeout = *d
				}
			case "on_error":
				if s, ok := p.str(v, where+".on_error"); ok {
					switch a := ErrorAction(s); a {
					case ErrorBlock, ErrorWarn:
						tp.OnError = a
					default:
						p.errorf(v, "%s.on_error: want block or warn, got %s", where, quote(s))
					}
				}
			case "config":
				if len(stages.ConfigFiles(tool)) == 0 {
					p.errorf(v, "%s.config: %s reads no configuration file from the source", where, tool)
				} else if s := p.relPath(v, where+".config"); s != nil {
					tp.Config = *s
				}
			default:
				return false
			}
			return true
		})
		out[tool] = tp
		return true
	})
	if len(p.errs) > n {
		return nil
	}
	return &out
}

// exampleTool is a tool of stage for error messages.
func exampleTool(stage string) string {
	if d, ok := stages.Lookup(stage); ok && len(d.Tools) > 0 {
		return d.Tools[0]
	}
	return "tool"
}

// marshalPerTool writes per_tool sorted by tool, leaving out zero settings.
func marshalPerTool(m map[string]ToolPolicy) *yaml.Node {
	out := mapNode()
	for _, tool := range slices.Sorted(maps.Keys(m)) {
		tp := m[tool]
		tm := mapNode()
		if tp.Timeout > 0 {
			addPair(tm, "timeout", strNode(formatDuration(tp.Timeout)))
		}
		if tp.OnError != "" {
			addPair(tm, "on_error", strNode(string(tp.OnError)))
		}
		if tp.Config != "" {
			addPair(tm, "config", strNode(tp.Config))
		}
		tm.Style = yaml.FlowStyle
		addPair(out, tool, tm)
	}
	return out
}
