//go:build desktop

package app

import (
	"context"

	wailsruntime "github.com/wailsapp/wails/v2/pkg/runtime"
)

const desktopBuild = true

func quitWindow(ctx context.Context) { wailsruntime.Quit(ctx) }
