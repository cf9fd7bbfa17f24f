"""Locker bank: a relay per lock and a reed switch per door, through gpiozero.

Wiring (BCM pins in the appliance TOML, `[[lockers.bank]]`): each lock's solenoid is switched by a relay board
channel driven from `relay_pin` (set `relay_active_high = false` for the common low-triggered boards); each door
has a reed switch between `door_pin` and GND, closed when the door is shut (`door_closed_low = true`, the internal
pull-up holds the pin high while the door is open). Never drive a solenoid from a GPIO pin directly.
"""

from __future__ import annotations

from collections.abc import Callable

from gpiozero import DigitalInputDevice, DigitalOutputDevice


class GpioLockerBank:
    def __init__(self, lockers, pulse_s: float, pin_factory=None):
        self.pulse_s = pulse_s
        self.numbers = tuple(locker.number for locker in lockers)
        self._relays = {
            locker.number: DigitalOutputDevice(
                locker.relay_pin, active_high=locker.relay_active_high, initial_value=False, pin_factory=pin_factory
            )
            for locker in lockers
        }
        # "active" means the door is shut: the reed switch closes the circuit
        self._doors = {
            locker.number: DigitalInputDevice(
                locker.door_pin, pull_up=locker.door_closed_low, bounce_time=0.02, pin_factory=pin_factory
            )
            for locker in lockers
        }

    def unlock(self, number: int) -> None:
        self._relays[number].blink(on_time=self.pulse_s, off_time=0.01, n=1, background=True)

    def door_open(self, number: int) -> bool:
        return not self._doors[number].is_active

    def relay_active(self, number: int) -> bool:
        return bool(self._relays[number].value)

    def on_door(self, callback: Callable[[int, bool], None]) -> None:
        for number, door in self._doors.items():
            door.when_activated = lambda n=number: callback(n, False)
            door.when_deactivated = lambda n=number: callback(n, True)

    def relay_pin(self, number: int):
        return self._relays[number].pin

    def door_pin(self, number: int):
        return self._doors[number].pin

    def close(self) -> None:
        for device in (*self._relays.values(), *self._doors.values()):
            device.close()
