package main

import (
	"testing"

	"github.com/tokenim/tokenim/shared/app/apptest"
)

func TestConfigMatchesTemplate(t *testing.T) {
	apptest.CheckTemplateEnv(t, "DeliveryFunction", newConfig())
}
