package app

import (
	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

func viperDecodeHook() viper.DecoderConfigOption {
	return viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	))
}
