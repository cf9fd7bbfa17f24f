"""The queue button, the status LED and the buzzer, through gpiozero.

Wiring (BCM numbering, set in the appliance TOML): a momentary push button between the button pin and GND (the
internal pull-up holds the pin high; pressed pulls it low); the LED through a 330 Ω resistor to GND; an active
buzzer (or a transistor driving one) on its pin. The same classes run on gpiozero's MockFactory in simulation.
"""

from __future__ import annotations

from collections.abc import Callable

from gpiozero import LED, Button, Buzzer

from hardware.interfaces import IndicatorState


class GpioQueueButton:
    """One callback per press: gpiozero fires `when_pressed` once, however long the button is held."""

    def __init__(self, pin: int, bounce_ms: int, hold_s: float, pin_factory=None):
        self._button = Button(
            pin, pull_up=True, bounce_time=(bounce_ms / 1000) or None, hold_time=hold_s,
            hold_repeat=False, pin_factory=pin_factory,
        )

    def on_press(self, callback: Callable[[], None]) -> None:
        self._button.when_pressed = lambda: callback()

    @property
    def pin(self):
        return self._button.pin

    def close(self) -> None:
        self._button.close()


class GpioIndicator:
    """Steady LED when ready; blinking LED and three short buzzes on a fault."""

    def __init__(self, led_pin: int, buzzer_pin: int | None, pin_factory=None):
        self._led = LED(led_pin, pin_factory=pin_factory)
        self._buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory) if buzzer_pin is not None else None
        self._state: IndicatorState = "off"

    @property
    def state(self) -> IndicatorState:
        return self._state

    def show(self, state: IndicatorState) -> None:
        if state == self._state:
            return
        self._state = state
        if state == "ready":
            self._led.on()
        elif state == "fault":
            self._led.blink(on_time=0.3, off_time=0.3)
            if self._buzzer is not None:
                self._buzzer.beep(on_time=0.15, off_time=0.15, n=3)
        else:
            self._led.off()

    def close(self) -> None:
        self._led.close()
        if self._buzzer is not None:
            self._buzzer.close()
