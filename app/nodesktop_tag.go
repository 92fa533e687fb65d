//go:build !desktop

package app

import "context"

const desktopBuild = false

func quitWindow(context.Context) {}
