package main

// Runs the Go SDK's typedefs pass over a module's source the way the engine
// does for a Go module (core/sdk/go_sdk.go, `codegen generate-typedefs`):
// in a copy of the module's context holding only what the engine loads,
// without the generated bindings, with the fake engine as its client.

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"dagger.io/dagger"
	"github.com/dagger/dagger/cmd/codegen/generator"
	gogenerator "github.com/dagger/dagger/cmd/codegen/generator/go"
	"github.com/dagger/dagger/cmd/codegen/introspection"
)

// typeDefsFile is where the pass writes the module's ID (GoSDKModuleIDPath).
const typeDefsFile = "typedefs.json"

// moduleTypeDefs returns the typedefs of the module, run in a copy of
// the files the engine loads of its context. coreJSON is the introspection
// the module itself is generated against (its own dependencies: only the
// core API here).
func moduleTypeDefs(ctx context.Context, mc *ModuleContext, libVersion string, coreJSON []byte) (*Module, error) {
	work, err := os.MkdirTemp("", "schemagen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if _, err := mc.Materialise(ctx, work); err != nil {
		return nil, fmt.Errorf("copying the module's context: %w", err)
	}
	return typeDefsIn(ctx, work, mc.SourceSubpath, mc.Config.Name, libVersion, coreJSON)
}

// typeDefsIn runs the pass in work, a context the caller may change.
func typeDefsIn(ctx context.Context, work, srcSubpath, modName, libVersion string, coreJSON []byte) (*Module, error) {
	srcDir := filepath.Join(work, srcSubpath)
	// As the engine does: the pass regenerates the client bindings itself,
	// so stale committed ones cannot change the result.
	for _, p := range []string{"dagger.gen.go", "internal"} {
		if err := os.RemoveAll(filepath.Join(srcDir, p)); err != nil {
			return nil, err
		}
	}

	var resp introspection.Response
	if err := json.Unmarshal(coreJSON, &resp); err != nil {
		return nil, fmt.Errorf("core introspection: %w", err)
	}
	generator.SetSchemaParents(resp.Schema)

	eng := newFakeEngine()
	dag, err := dagger.Connect(ctx, dagger.WithConn(eng))
	if err != nil {
		return nil, err
	}
	defer dag.Close()

	g := &gogenerator.GoGenerator{Config: generator.Config{
		Lang:              generator.SDKLangGo,
		OutputDir:         srcDir,
		IntrospectionJSON: string(coreJSON),
		TypeDefsPath:      typeDefsFile,
		Dag:               dag,
		ModuleConfig: &generator.ModuleGeneratorConfig{
			ModuleName:       modName,
			ModuleSourcePath: ".",
			ModuleParentPath: ".",
			LibVersion:       libVersion,
		},
	}}
	// The codegen CLI's loop (cmd/codegen/typedefs.go): bootstrap passes
	// write the bindings, the last one describes the module.
	for pass := 0; ; pass++ {
		if pass > 5 {
			return nil, fmt.Errorf("typedefs generation did not settle")
		}
		st, err := g.GenerateTypeDefs(ctx, resp.Schema, resp.SchemaVersion)
		if err != nil {
			return nil, fmt.Errorf("generating typedefs: %w", err)
		}
		if st.NeedRegenerate {
			if err := generator.Overlay(ctx, st.Overlay, srcDir); err != nil {
				return nil, err
			}
			continue
		}
		raw, err := fs.ReadFile(st.Overlay, typeDefsFile)
		if err != nil {
			return nil, fmt.Errorf("the typedefs pass wrote no module ID: %w", err)
		}
		var id string
		if err := json.Unmarshal(raw, &id); err != nil {
			return nil, fmt.Errorf("module ID %q: %w", raw, err)
		}
		v, err := eng.load(id)
		if err != nil {
			return nil, err
		}
		mod, ok := v.(*Module)
		if !ok {
			return nil, fmt.Errorf("module ID names a %T", v)
		}
		return mod, nil
	}
}
