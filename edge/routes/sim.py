"""Simulated hardware, mounted only with PST_EDGE_HARDWARE=sim: press the button, look into the printer."""

from __future__ import annotations

import io

import anyio
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response

from edge.errors import ApiError
from edge.routes import ApplianceDep
from edge.routes.kiosk import json_object
from pst.openapi import content


@post("/_sim/button", status_code=204)
async def press_button(appliance: ApplianceDep) -> None:
    # MockFactory runs `when_pressed` in the caller's thread: the ticket is committed when this returns
    await anyio.to_thread.run_sync(appliance.hardware.press_button)


@get("/_sim/printer", sync_to_thread=False)
def printer_state(appliance: ApplianceDep) -> dict:
    return appliance.hardware.emulator.snapshot()


@post("/_sim/printer", status_code=200)
async def printer_switch(request: Request, appliance: ApplianceDep) -> dict:
    data = await json_object(request, any_type=True)
    errors = {}
    if "online" in data and not isinstance(data["online"], bool):
        errors["online"] = "harus true atau false"
    if "paper" in data and data["paper"] not in ("ok", "out"):
        errors["paper"] = "harus 'ok' atau 'out'"
    for key in set(data) - {"online", "paper"}:
        errors[key] = "tidak dikenal"
    if errors:
        raise ApiError(400, "Pengaturan printer simulasi tidak sah", errors)
    emulator = appliance.hardware.emulator
    if "online" in data:
        emulator.set_online(data["online"])
    if "paper" in data:
        emulator.set_paper(data["paper"])
    return emulator.snapshot()


@get("/_sim/printer/tickets/{index:int}/image", sync_to_thread=True,
     responses={200: content("image/png", "The ticket as printed")})
def printed_ticket_image(index: FromPath[int], appliance: ApplianceDep) -> Response:
    """A received ticket drawn as on 80 mm paper; negative indexes count from the newest."""
    from hardware.sim.printer_emulator import render_png

    tickets = appliance.hardware.emulator.tickets
    try:
        ticket = tickets[index]
    except IndexError:
        raise ApiError(404, "Belum ada tiket dengan nomor urut itu") from None
    buffer = io.BytesIO()
    render_png(ticket, buffer)
    return Response(buffer.getvalue(), media_type="image/png")


routes = [press_button, printer_state, printer_switch, printed_ticket_image]


@get("/_sim/lockers", sync_to_thread=False)
def sim_lockers(appliance: ApplianceDep) -> list[dict]:
    bank = appliance.hardware.lockers
    return [{"number": n, "unlocked": bank.relay_active(n), "door_open": bank.door_open(n)} for n in bank.numbers]


@post("/_sim/lockers/{number:int}/door", status_code=200)
async def sim_locker_door(request: Request, number: FromPath[int], appliance: ApplianceDep) -> dict:
    data = await json_object(request, any_type=True)
    if not isinstance(data.get("open"), bool):
        raise ApiError(400, "open harus true atau false", {"open": "harus true atau false"})
    if number not in appliance.hardware.lockers.numbers:
        raise ApiError(404, f"Loker {number} tidak ada")
    # MockFactory runs the door callback in this thread: the locker is free when this answers
    await anyio.to_thread.run_sync(appliance.hardware.set_door, number, data["open"])
    bank = appliance.hardware.lockers
    return {"number": number, "unlocked": bank.relay_active(number), "door_open": bank.door_open(number)}


routes += [sim_lockers, sim_locker_door]


# Forms for the demo pages (`pst up`): the same simulated devices, driven from the browser without JavaScript.
@post("/_sim/forms/scanner-feed", status_code=303)
async def sim_feed_form(appliance: ApplianceDep) -> Redirect:
    appliance.hardware.scanner.feed(3)
    return Redirect("/pemindai", status_code=303)


@post("/_sim/forms/lockers/{number:int}/door", status_code=303)
async def sim_door_form(number: FromPath[int], appliance: ApplianceDep) -> Redirect:
    if number not in appliance.hardware.lockers.numbers:
        raise ApiError(404, f"Loker {number} tidak ada")
    is_open = not appliance.hardware.lockers.door_open(number)
    await anyio.to_thread.run_sync(appliance.hardware.set_door, number, is_open)
    return Redirect("/petugas/loker", status_code=303)


routes += [sim_feed_form, sim_door_form]
