package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.internal.Descriptors;

/**
 * The descriptors open at one moment, the library's ({@link Descriptors#openCount()}) and the
 * process's ({@link TestSupport#processFdCount()}): what a test must have given back by its end.
 * Counts only ever drop behind a test's back (the Cleaner releasing other tests' sockets), so
 * "back" means "at most the baseline".
 */
final class DescriptorBaseline {
    final int library;
    final int process;

    private DescriptorBaseline(int library, int process) {
        this.library = library;
        this.process = process;
    }

    /** The counts now. */
    static DescriptorBaseline now() {
        int library = Descriptors.openCount();
        return new DescriptorBaseline(library, TestSupport.processFdCount());
    }

    /** Whether the library's count drops back to the baseline within 10 s ({@link TestSupport#eventually}). */
    boolean libraryBack() throws InterruptedException {
        return TestSupport.eventually(() -> Descriptors.openCount() <= library);
    }

    /** Whether the process's count drops back to the baseline within 10 s. */
    boolean processBack() throws InterruptedException {
        return TestSupport.eventually(() -> TestSupport.processFdCount() <= process);
    }

    /** Whether both counts are back to the baseline together within 10 s (one poll checks both). */
    boolean back() throws InterruptedException {
        return TestSupport.eventually(
                () -> Descriptors.openCount() <= library && TestSupport.processFdCount() <= process);
    }

    /** Fails unless both counts drop back to the baseline within 10 s each (the library's first). */
    void assertBack() throws InterruptedException {
        assertTrue(libraryBack(),
                () -> "Descriptors.openCount() " + Descriptors.openCount() + ", baseline " + library);
        assertTrue(processBack(),
                () -> "process descriptors " + TestSupport.processFdCount() + ", baseline " + process);
    }

    /** "library B -> N, process B -> N": the baseline and the counts now, for messages and summaries. */
    String change() {
        return "library " + library + " -> " + Descriptors.openCount() + ", process " + process + " -> "
                + TestSupport.processFdCount();
    }
}
