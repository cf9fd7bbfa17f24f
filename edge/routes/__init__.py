"""HTTP routes of the appliance: they parse, call the appliance, and answer; no SQL here."""

from litestar.di import NamedDependency

from edge.appliance import Appliance

ApplianceDep = NamedDependency[Appliance]
