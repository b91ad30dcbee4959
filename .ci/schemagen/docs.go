package main

// The `dagger call` commands a repository documents (README, CI examples),
// checked against the module's typedefs: every function, chained function
// and flag must exist, so the commands users copy are the ones the module
// check validated. Commands for other modules (`dagger -m other call`) are
// left alone.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/dagger/dagger/cmd/codegen/introspection"
	"gopkg.in/yaml.v3"
)

// DocCommand is one `dagger call` or `dagger check` found in a file.
type DocCommand struct {
	File string
	Line int
	// Check is `dagger check`; Args are the words after `call` otherwise.
	Check bool
	Args  []string
}

func (c DocCommand) String() string {
	if c.Check {
		return "dagger check"
	}
	return "dagger call " + strings.Join(c.Args, " ")
}

// daggerCmdRE finds `dagger call` and `dagger check`, with an optional -m
// naming the module.
var daggerCmdRE = regexp.MustCompile(`\bdagger(?:\s+(?:-m|--mod)[ =](\S+))?\s+(call|check)\b`)

// ourModule is true for a -m value naming this module (or none).
func ourModule(mod, name string) bool {
	if mod == "" || mod == "." {
		return true
	}
	base, _, _ := strings.Cut(mod, "@")
	return strings.HasSuffix(base, "/"+name)
}

// FindDocCommands lists the commands for module name in a file: in YAML,
// dagger-for-github steps (verb: call, args: ...) and every string holding
// a command; elsewhere, every line (backslash continuations joined).
func FindDocCommands(file string, data []byte, name string) ([]DocCommand, error) {
	switch filepath.Ext(file) {
	case ".yml", ".yaml":
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		var out []DocCommand
		walkYAML(&doc, func(n *yaml.Node) {
			// Comments hold commands too.
			for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
				out = append(out, textCommands(file, n.Line, c, name)...)
			}
			if n.Kind == yaml.MappingNode {
				var verb, args *yaml.Node
				for i := 0; i+1 < len(n.Content); i += 2 {
					switch n.Content[i].Value {
					case "verb":
						verb = n.Content[i+1]
					case "args":
						args = n.Content[i+1]
					}
				}
				if verb != nil && verb.Value == "call" && args != nil && args.Kind == yaml.ScalarNode {
					out = append(out, DocCommand{File: file, Line: args.Line, Args: commandWords(args.Value)})
				}
			}
			if n.Kind == yaml.ScalarNode {
				out = append(out, textCommands(file, n.Line, n.Value, name)...)
			}
		})
		return out, nil
	}
	return textCommands(file, 1, string(data), name), nil
}

func walkYAML(n *yaml.Node, fn func(*yaml.Node)) {
	fn(n)
	for _, c := range n.Content {
		walkYAML(c, fn)
	}
}

// textCommands finds the commands in text starting at line first.
func textCommands(file string, first int, text, name string) []DocCommand {
	var out []DocCommand
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line, at := lines[i], first+i
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		for _, m := range daggerCmdRE.FindAllStringSubmatchIndex(line, -1) {
			mod := ""
			if m[2] >= 0 {
				mod = line[m[2]:m[3]]
			}
			if !ourModule(mod, name) {
				continue
			}
			if line[m[4]:m[5]] == "check" {
				out = append(out, DocCommand{File: file, Line: at, Check: true})
				continue
			}
			words := commandWords(line[m[1]:])
			if len(words) == 0 {
				continue // prose: "one `dagger call` runs ..."
			}
			out = append(out, DocCommand{File: file, Line: at, Args: words})
		}
	}
	return out
}

// commandWords splits a command like a shell, quotes removed, up to where
// the command ends: a comment, pipe, list, redirect or the end of inline
// code. A GitHub expression (${{ ... }}) stays one word.
func commandWords(s string) []string {
	var out []string
	var cur bytes.Buffer
	in := false
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
			continue
		case c == '\'' || c == '"':
			quote, in = c, true
			continue
		case strings.HasPrefix(s[i:], "${{"):
			end := strings.Index(s[i:], "}}")
			if end < 0 {
				end = len(s) - i - 2
			}
			cur.WriteString(s[i : i+end+2])
			i += end + 1
			in = true
			continue
		case strings.IndexByte("`|;>&)\n", c) >= 0, c == '#' && !in:
			i = len(s) // the command ends here
		case c != ' ' && c != '\t':
			cur.WriteByte(c)
			in = true
			continue
		}
		if in {
			out = append(out, cur.String())
			cur.Reset()
			in = false
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// callable is something a command word can name: a function of the
// module or of the core API, with its flags by CLI name.
type callable struct {
	name  string
	flags map[string]bool // CLI name → takes no value (boolean)
	// returns names what the next word is looked up in: a module object
	// (original name), a core type, or "" for a value that ends the chain.
	returnsModule, returnsCore string
}

// CheckDocCommand says what is wrong with one documented command.
func (m *CLIModel) CheckDocCommand(c DocCommand) []string {
	if c.Check {
		for _, obj := range m.objects() {
			for _, fn := range obj.Functions {
				if fn.IsCheck {
					return nil
				}
			}
		}
		return []string{"`dagger check` runs no function: the module has no +check function"}
	}
	var probs []string
	words := c.Args
	var cur *callable
	if m.Main.Constructor != nil {
		cur = m.moduleCallable(m.Main.Constructor, "")
	} else {
		cur = &callable{flags: map[string]bool{}}
	}
	cur.name = "the constructor (flags before the function)"
	cur.returnsModule = m.Main.OriginalName
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") {
			flag, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			flag = cliName(flag)
			if slices.Contains(callFlags, flag) {
				if !hasValue && (flag == "output" || flag == "o") {
					i++
				}
				continue
			}
			boolean, ok := cur.flags[flag]
			if !ok {
				probs = append(probs, fmt.Sprintf("%s has no flag --%s", cur.name, flag))
				continue
			}
			if !hasValue && !boolean {
				i++
			}
			continue
		}
		next := m.lookup(cur, w)
		if next == nil {
			if cur.returnsModule == "" && cur.returnsCore == "" {
				probs = append(probs, fmt.Sprintf("%s returns a value: nothing can follow it (%q)", cur.name, w))
			} else {
				probs = append(probs, fmt.Sprintf("%s has no function %q", cur.returnsModule+cur.returnsCore, w))
			}
			return probs
		}
		cur = next
	}
	return probs
}

// lookup finds word among the functions of what cur returns.
func (m *CLIModel) lookup(cur *callable, word string) *callable {
	if cur.returnsModule != "" {
		obj := m.Objects[cur.returnsModule]
		for _, fn := range obj.Functions {
			if cliName(fn.Name) == word {
				return m.moduleCallable(fn, obj.Name)
			}
		}
		for _, f := range obj.Fields {
			if cliName(f.Name) == word {
				return m.moduleCallable(&Function{Name: f.Name, ReturnType: f.TypeDef}, obj.Name)
			}
		}
		return nil
	}
	if cur.returnsCore != "" {
		t := m.core.Types.Get(cur.returnsCore)
		if t == nil {
			return nil
		}
		for _, f := range t.Fields {
			if cliName(f.Name) != word {
				continue
			}
			c := &callable{name: cur.returnsCore + "." + f.Name, flags: map[string]bool{}}
			for _, a := range f.Args {
				c.flags[cliName(a.Name)] = refName(a.TypeRef) == "Boolean"
			}
			if r := refName(f.TypeRef); r != "" {
				if rt := m.core.Types.Get(r); rt != nil && rt.Kind == introspection.TypeKindObject {
					c.returnsCore = r
				}
			}
			return c
		}
	}
	return nil
}

// refName is a type reference's named type, list or not.
func refName(r *introspection.TypeRef) string {
	for r != nil && r.OfType != nil && r.Name == "" {
		if r.Kind == introspection.TypeKindList {
			return "" // a list ends the chain
		}
		r = r.OfType
	}
	if r == nil {
		return ""
	}
	return r.Name
}

func (m *CLIModel) moduleCallable(fn *Function, owner string) *callable {
	name := cliName(fn.Name)
	if owner != "" {
		name = owner + "." + fn.Name
	}
	c := &callable{name: name, flags: map[string]bool{}}
	for _, a := range fn.Args {
		c.flags[cliName(a.Name)] = a.TypeDef.Kind == KindBoolean
	}
	if rt := fn.ReturnType; rt != nil && rt.Kind == KindObject {
		if _, own := m.Objects[rt.AsObject.OriginalName]; own {
			c.returnsModule = rt.AsObject.OriginalName
		} else {
			c.returnsCore = rt.AsObject.Name
		}
	}
	return c
}

// CheckDocs checks every command in files (relative to dir).
func (m *CLIModel) CheckDocs(dir string, files []string) (n int, probs []Problem, err error) {
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return n, probs, err
		}
		cmds, err := FindDocCommands(f, data, m.Name)
		if err != nil {
			return n, probs, err
		}
		for _, c := range cmds {
			n++
			for _, p := range m.CheckDocCommand(c) {
				probs = append(probs, Problem{fmt.Sprintf("%s:%d", c.File, c.Line), fmt.Sprintf("`%s`: %s", c, p)})
			}
		}
	}
	return n, probs, nil
}
