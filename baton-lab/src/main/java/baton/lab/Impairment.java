package baton.lab;

/** A network impairment installed on one host's link, undone by {@link #remove()}. */
interface Impairment {
    void remove();
}
