// htmx extensions register themselves on window.htmx when they load, so it must exist first.
import htmx from "htmx.org";
window.htmx = htmx;
